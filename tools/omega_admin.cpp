/// omega-admin: the operator's tool for the store in the data folder. It
/// registers games (the server only admits games it knows), creates accounts
/// and issues tokens, e.g. for load tests, without going through the server.
/// It opens the same SQLite file as a running server, which is safe: the
/// store runs in WAL mode with a busy timeout.
///
/// Output is meant for scripts: each command prints only its result on
/// stdout; messages go to stderr.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "messages/placement.hpp"
#include "storage/sqlite_store.hpp"
#include "tools/admin_http.hpp"
#include "tools/cluster_certs.hpp"
#include "tools/command_line.hpp"

namespace {

namespace po = boost::program_options;
namespace cmdl = omega::command_line;

constexpr const char* usage
  = "usage: omega-admin [--data-dir DIR] COMMAND ...\n"
    "\n"
    "commands:\n"
    "  game add NAME --developer DEV [--profile standard|cl5]\n"
    "      registers a game and prints its UGI; --profile cl5 for games\n"
    "      built with the CL5 TurboWarp extension (default: standard)\n"
    "  game set-profile UGI standard|cl5\n"
    "      changes a game's client profile; connections opened afterwards\n"
    "      see it, no restart needed\n"
    "  game list\n"
    "      prints UGI<TAB>NAME<TAB>DEVELOPER<TAB>PROFILE per game, oldest\n"
    "      first\n"
    "  game owner UGI NODE...\n"
    "      prints which of the named cluster nodes runs the game when all\n"
    "      of them are up (no data folder needed)\n"
    "  user add USERNAME --email EMAIL --password PASSWORD\n"
    "      creates an account and prints its id\n"
    "  user add-many PREFIX COUNT [--password PASSWORD]\n"
    "      creates accounts PREFIX0 .. PREFIX<COUNT-1> (emails\n"
    "      PREFIX<i>@example.test, password 'password123' by default) with\n"
    "      a cheap password hash, each with a 24 h token; prints\n"
    "      ID<TAB>USERNAME<TAB>TOKEN per account (for load tests)\n"
    "  token issue USER [--origin ORIGIN] [--lifetime SECONDS]\n"
    "      issues a token for a username or account id and prints it\n"
    "      (default: any origin, 86400 seconds)\n"
    "  cluster init-ca DIR [--days N]\n"
    "      makes the cluster's CA in DIR (created, mode 0700): ca.key (EC\n"
    "      P-256, mode 0600) and ca.pem, valid N days (default 3650); prints\n"
    "      the path of ca.pem; never overwrites (no data folder needed)\n"
    "  cluster issue-cert DIR NODE [--days N]\n"
    "      signs a certificate for node NODE with the CA in DIR: NODE.key\n"
    "      and NODE.pem, CN and DNS name NODE, valid N days (default 730);\n"
    "      prints the node's --cluster-cert, --cluster-key and --cluster-ca\n"
    "      flags; never overwrites\n"
    "  drain URL --token-file FILE [--ca-file FILE]\n"
    "      starts a graceful drain of the server at URL (http://HOST:PORT or\n"
    "      https://HOST:PORT), as SIGTERM does; FILE holds the token of its\n"
    "      --admin-token-file; --ca-file verifies an https server (default:\n"
    "      the system's CAs)\n"
    "\n"
    "options:\n"
    "  --data-dir DIR   the server's data folder (default: ./data)\n"
    "  --help           prints this text\n"
    "Options may appear anywhere, also as --name=value.\n";

constexpr int exit_error = 1;
constexpr int exit_usage = 2;

constexpr std::chrono::seconds default_lifetime{24 * 60 * 60};

/// The command line, split into positional arguments and options.
struct command_line {
  std::vector<std::string> args;
  std::map<std::string, std::string> options; // name without "--" -> value
  bool help = false;
};

/// Thrown for a malformed command line; main prints it with the usage.
struct usage_error {
  std::string what;
};

/// Options that take a value. All of them do: there are no flags but --help.
const std::vector<std::string> known_options = {
  "data-dir", "developer", "email", "password",   "origin",
  "lifetime", "profile",   "days",  "token-file", "ca-file",
};

/// The name that collects the positional arguments; not an option.
constexpr const char* args_name = "args";

po::options_description describe() {
  po::options_description opts;
  auto add = opts.add_options();
  add("help", cmdl::repeatable_flag(), "");
  for (auto& name : known_options)
    add(name.c_str(), po::value<std::string>(), "");
  add(args_name, po::value<std::vector<std::string>>(), "");
  return opts;
}

/// Parses the command line; program_options' errors become usage errors in
/// omega-admin's words.
po::variables_map read(int argc, char** argv) {
  auto opts = describe();
  po::positional_options_description positional;
  positional.add(args_name, -1);
  po::variables_map vm;
  try {
    auto parsed = cmdl::parser(argc, argv, opts).positional(positional).run();
    for (auto& opt : parsed.options)
      if (opt.string_key == args_name && opt.position_key == -1)
        throw usage_error{"unknown option --" + opt.string_key};
    po::store(parsed, vm);
  } catch (const po::unknown_option& e) {
    throw usage_error{"unknown option --" + cmdl::option_name(e)};
  } catch (const po::multiple_occurrences& e) {
    throw usage_error{"--" + cmdl::option_name(e) + " given twice"};
  } catch (const po::error_with_option_name& e) {
    if (cmdl::is_missing_value(e))
      throw usage_error{"--" + cmdl::option_name(e) + " needs a value"};
    // `--help=x`: --help is no option that takes a value.
    throw usage_error{"unknown option --" + cmdl::option_name(e)};
  }
  return vm;
}

command_line parse(int argc, char** argv) {
  auto vm = read(argc, argv);
  command_line result;
  result.help = vm.count("help") != 0;
  if (vm.count(args_name))
    result.args = vm[args_name].as<std::vector<std::string>>();
  for (auto& name : known_options)
    if (vm.count(name))
      result.options.emplace(name, vm[name].as<std::string>());
  return result;
}

/// Rejects options that the command does not use, so that a typo such as
/// `token issue bob --developer x` does not pass silently.
void allow_only(const command_line& cl, std::set<std::string> allowed) {
  allowed.insert("data-dir");
  for (auto& [name, value] : cl.options)
    if (allowed.count(name) == 0)
      throw usage_error{"--" + name + " does not apply to this command"};
}

void expect_args(const command_line& cl, size_t n) {
  if (cl.args.size() != n)
    throw usage_error{"wrong number of arguments"};
}

std::optional<std::string> option(const command_line& cl,
                                  const std::string& name) {
  if (auto i = cl.options.find(name); i != cl.options.end())
    return i->second;
  return std::nullopt;
}

std::string required(const command_line& cl, const std::string& name) {
  if (auto value = option(cl, name))
    return *value;
  throw usage_error{"missing --" + name};
}

/// Parses a decimal count without sign, e.g. "0" or "1000".
std::optional<uint64_t> parse_count(const std::string& x) {
  if (x.empty() || x.size() > 9)
    return std::nullopt;
  uint64_t result = 0;
  for (auto c : x) {
    if (c < '0' || c > '9')
      return std::nullopt;
    result = result * 10 + static_cast<uint64_t>(c - '0');
  }
  return result;
}

omega::client_profile parse_profile(const std::string& x) {
  omega::client_profile result;
  if (!omega::profile_from_name(x, result))
    throw usage_error{"unknown profile " + x + " (standard or cl5)"};
  return result;
}

std::unique_ptr<omega::sqlite_store>
open_store(const command_line& cl,
           omega::hash_cost cost = omega::hash_cost::interactive()) {
  auto dir = option(cl, "data-dir").value_or("./data");
  std::string error;
  auto store = omega::sqlite_store::open(dir, error, cost);
  if (!store)
    std::cerr << "omega-admin: " << error << '\n';
  return store;
}

// -- commands ----------------------------------------------------------------

int game_add(const command_line& cl) {
  allow_only(cl, {"developer", "profile"});
  expect_args(cl, 3);
  auto& name = cl.args[2];
  auto developer = required(cl, "developer");
  if (name.empty() || developer.empty())
    throw usage_error{"game and developer names must not be empty"};
  auto profile = parse_profile(option(cl, "profile").value_or("standard"));
  auto store = open_store(cl);
  if (!store)
    return exit_error;
  auto ugi = store->add_game(name, developer, profile);
  if (ugi.empty()) {
    std::cerr << "omega-admin: cannot add game (does " << developer
              << " already have a game named " << name << "?)\n";
    return exit_error;
  }
  std::cout << ugi << '\n';
  return 0;
}

int game_list(const command_line& cl) {
  allow_only(cl, {});
  expect_args(cl, 2);
  auto store = open_store(cl);
  if (!store)
    return exit_error;
  for (auto& game : store->list_games())
    std::cout << game.ugi << '\t' << game.name << '\t' << game.developer << '\t'
              << omega::profile_name(game.profile) << '\n';
  return 0;
}

int game_set_profile(const command_line& cl) {
  allow_only(cl, {});
  expect_args(cl, 4);
  auto& ugi = cl.args[2];
  auto profile = parse_profile(cl.args[3]);
  auto store = open_store(cl);
  if (!store)
    return exit_error;
  if (!store->set_profile(ugi, profile)) {
    std::cerr << "omega-admin: no game " << ugi << '\n';
    return exit_error;
  }
  return 0;
}

int game_owner(const command_line& cl) {
  allow_only(cl, {});
  if (cl.args.size() < 4)
    throw usage_error{"game owner needs a UGI and at least one node name"};
  std::vector<std::string> nodes(cl.args.begin() + 3, cl.args.end());
  std::cout << omega::owner_of(cl.args[2], nodes) << '\n';
  return 0;
}

/// Explains a failed registration on stderr.
void report(omega::register_status status, const std::string& username) {
  std::cerr << "omega-admin: cannot create " << username << ": "
            << (status == omega::register_status::taken
                  ? "username or email already taken"
                  : "invalid username (3-20 of A-Z a-z 0-9 _ . -), email or "
                    "password (8-128 bytes)")
            << '\n';
}

int user_add(const command_line& cl) {
  allow_only(cl, {"email", "password"});
  expect_args(cl, 3);
  auto& username = cl.args[2];
  auto email = required(cl, "email");
  auto password = required(cl, "password");
  auto store = open_store(cl);
  if (!store)
    return exit_error;
  std::string id;
  if (auto status = store->register_account(username, email, password, &id);
      status != omega::register_status::ok) {
    report(status, username);
    return exit_error;
  }
  std::cout << id << '\n';
  return 0;
}

/// Creates accounts one by one through the public API: sqlite_store offers no
/// batch transaction, and with the minimal hash cost and WAL this is fast
/// enough for load-test populations. On failure, the accounts printed so far
/// exist.
int user_add_many(const command_line& cl) {
  allow_only(cl, {"password"});
  expect_args(cl, 4);
  auto& prefix = cl.args[2];
  auto count = parse_count(cl.args[3]);
  if (!count)
    throw usage_error{"COUNT must be a non-negative integer"};
  auto password = option(cl, "password").value_or("password123");
  auto store = open_store(cl, omega::hash_cost::minimal());
  if (!store)
    return exit_error;
  for (uint64_t i = 0; i < *count; ++i) {
    auto username = prefix + std::to_string(i);
    std::string id;
    auto status = store->register_account(username, username + "@example.test",
                                          password, &id);
    if (status != omega::register_status::ok) {
      report(status, username);
      std::cerr << "omega-admin: created " << i << " of " << *count
                << " accounts\n";
      return exit_error;
    }
    auto token = store->issue_token(id, "", default_lifetime);
    if (!token) {
      std::cerr << "omega-admin: cannot issue a token for " << username << '\n';
      return exit_error;
    }
    std::cout << id << '\t' << username << '\t' << *token << '\n';
  }
  return 0;
}

int token_issue(const command_line& cl) {
  allow_only(cl, {"origin", "lifetime"});
  expect_args(cl, 3);
  auto& user = cl.args[2];
  auto origin = option(cl, "origin").value_or("");
  auto lifetime = default_lifetime;
  if (auto str = option(cl, "lifetime")) {
    auto secs = parse_count(*str);
    if (!secs || *secs == 0)
      throw usage_error{"--lifetime must be a positive number of seconds"};
    lifetime = std::chrono::seconds{static_cast<int64_t>(*secs)};
  }
  auto store = open_store(cl);
  if (!store)
    return exit_error;
  auto token = store->issue_token(user, origin, lifetime);
  if (!token) {
    std::cerr << "omega-admin: no account " << user << '\n';
    return exit_error;
  }
  std::cout << *token << '\n';
  return 0;
}

/// `--days`, or `fallback` without it.
int validity_days(const command_line& cl, int fallback) {
  auto str = option(cl, "days");
  if (!str)
    return fallback;
  auto days = parse_count(*str);
  if (!days || *days == 0 || *days > 36500)
    throw usage_error{"--days must be from 1 to 36500"};
  return static_cast<int>(*days);
}

int cluster_init_ca(const command_line& cl) {
  allow_only(cl, {"days"});
  expect_args(cl, 3);
  auto& dir = cl.args[2];
  std::string err;
  if (!omega::make_ca(dir, validity_days(cl, 3650), err)) {
    std::cerr << "omega-admin: " << err << '\n';
    return exit_error;
  }
  std::cout << omega::ca_paths(dir).cert << '\n';
  return 0;
}

int cluster_issue_cert(const command_line& cl) {
  allow_only(cl, {"days"});
  expect_args(cl, 4);
  auto& dir = cl.args[2];
  auto& node = cl.args[3];
  if (!omega::valid_cert_name(node))
    throw usage_error{"NODE must be 1 to 64 of A-Z a-z 0-9 . _ - (not \"ca\")"};
  std::string err;
  if (!omega::issue_cert(dir, node, validity_days(cl, 730), err)) {
    std::cerr << "omega-admin: " << err << '\n';
    return exit_error;
  }
  auto paths = omega::node_paths(dir, node);
  std::cout << "--cluster-cert " << paths.cert << " --cluster-key " << paths.key
            << " --cluster-ca " << omega::ca_paths(dir).cert << '\n';
  return 0;
}

/// `drain URL`: asks the server to drain over its HTTP API.
int drain(const command_line& cl) {
  allow_only(cl, {"token-file", "ca-file"});
  expect_args(cl, 2);
  auto file = required(cl, "token-file");
  std::ifstream in{file};
  std::string token;
  std::getline(in, token);
  if (!in || token.empty()) {
    std::cerr << "omega-admin: cannot read a token from " << file << '\n';
    return exit_error;
  }
  auto answer = omega::admin_post(cl.args[1], "/admin/drain", token,
                                  option(cl, "ca-file").value_or(""));
  if (answer.status == 202) {
    std::cout << "draining\n";
    return 0;
  }
  std::cerr << "omega-admin: "
            << (answer.status == 0
                  ? answer.error
                  : "the server answered " + std::to_string(answer.status) + " "
                      + answer.body)
            << '\n';
  return exit_error;
}

int run(const command_line& cl) {
  auto& args = cl.args;
  if (!args.empty() && args[0] == "drain")
    return drain(cl);
  if (args.size() < 2)
    throw usage_error{args.empty() ? "missing command" : "incomplete command"};
  auto cmd = args[0] + ' ' + args[1];
  if (cmd == "game add")
    return game_add(cl);
  if (cmd == "game list")
    return game_list(cl);
  if (cmd == "game set-profile")
    return game_set_profile(cl);
  if (cmd == "game owner")
    return game_owner(cl);
  if (cmd == "user add")
    return user_add(cl);
  if (cmd == "user add-many")
    return user_add_many(cl);
  if (cmd == "token issue")
    return token_issue(cl);
  if (cmd == "cluster init-ca")
    return cluster_init_ca(cl);
  if (cmd == "cluster issue-cert")
    return cluster_issue_cert(cl);
  throw usage_error{"unknown command " + cmd};
}

} // namespace

int main(int argc, char** argv) {
  try {
    auto cl = parse(argc, argv);
    if (cl.help) {
      std::cout << usage;
      return 0;
    }
    return run(cl);
  } catch (const usage_error& e) {
    if (argc == 1)
      std::cerr << usage;
    else
      std::cerr << "omega-admin: " << e.what << "\nTry 'omega-admin --help'.\n";
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "omega-admin: " << e.what() << '\n';
    return exit_error;
  }
}
