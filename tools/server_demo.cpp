#include "tools/server_demo.hpp"

#include <iostream>

namespace omega {

demo_ugis demo_games(sqlite_store& store) {
  constexpr const char* developer = "Demo Developer";
  demo_ugis result;
  bool others = false;
  for (auto& g : store.list_games()) {
    if (g.developer == developer && g.name == "Demo Game")
      result.standard = g.ugi;
    else if (g.developer == developer && g.name == "CL5 Demo Game")
      result.cl5 = g.ugi;
    else
      others = true;
  }
  if (others)
    return result;
  if (result.standard.empty())
    result.standard = store.add_game("Demo Game", developer);
  if (result.cl5.empty())
    result.cl5 = store.add_game("CL5 Demo Game", developer,
                                client_profile::cl5);
  return result;
}

void print_demo(const demo_ugis& demo, const std::string& host, uint16_t port,
                bool tls, bool web_pages) {
  auto origin = host + ":" + std::to_string(port);
  auto http = (tls ? "https://" : "http://") + origin;
  auto url = (tls ? "wss://" : "ws://") + origin + "/api/v0/signaling?ugi=";
  if (web_pages)
    std::cout << "omega: open " << http
              << "/ in two browser tabs: two players, one lobby, a WebRTC "
                 "DataChannel.\n";
  std::cout << "omega: demo game ready. Signaling URL:\n  " << url
            << demo.standard << '\n';
  if (!demo.cl5.empty())
    std::cout << "CL5 demo game (profile cl5, for the CL5 TurboWarp "
                 "extensions). Signaling URL:\n  "
              << url << demo.cl5 << "\n  UGI for the extensions' "
              << "\"set UGI\" block: " << demo.cl5 << '\n';
  std::cout << "Register:  curl -X POST " << http
            << "/api/v0/register -d "
               "'{\"username\":\"alice\",\"email\":\"alice@example.com\","
               "\"password\":\"password123\"}'\n"
            << "Log in:    curl -X POST " << http
            << "/api/v0/login -d "
               "'{\"email\":\"alice@example.com\",\"password\":"
               "\"password123\"}'\n"
            << "then send {\"opcode\":\"INIT\",\"payload\":\"<token>\"} "
               "on the WebSocket."
            << std::endl;
}

} // namespace omega
