#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/actors.hpp"
#include "storage/sqlite_store.hpp"

/// libFuzzer target for the SQLite import of cluster pushes: the bytes are
/// a `replica` in CAF's binary format, as a peer AUTH sends it over the
/// (unauthenticated) cluster port, and `sqlite_store::import_rows` applies
/// it to a store that already holds a game, an account, a token and a save.
///
/// Besides the sanitizers it checks that applying a push is idempotent
/// (messages/internal.hpp promises it): the same rows again change nothing
/// that the next push would carry.
///
/// `OMEGA_FUZZ_WRITE_SEED=FILE` writes a real push instead (the export of a
/// store with two accounts, a game, a token and a save) and exits: how
/// tests/fuzz/corpus/replica_import/ got its seed.

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "replica_import_fuzz: %s\n", what);
  std::abort();
}

/// A store in a fresh temporary folder, removed with it.
struct temp_store {
  std::string dir;
  std::unique_ptr<omega::sqlite_store> store;

  temp_store() {
    auto base = std::filesystem::temp_directory_path() / "omega-fuzz-XXXXXX";
    std::string tmpl = base.string();
    if (mkdtemp(tmpl.data()) == nullptr)
      die("mkdtemp failed");
    dir = tmpl;
    std::string error;
    store = omega::sqlite_store::open(dir, error, omega::hash_cost::minimal());
    if (!store)
      die(error.c_str());
  }

  ~temp_store() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  /// Fills the store with one row of each kind (two accounts).
  void populate() {
    auto ugi = store->add_game("Pong", "Atari");
    std::string id;
    if (ugi.empty()
        || store->register_account("alice", "alice@example.com",
                                   "correct horse", &id)
             != omega::register_status::ok
        || store->register_account("bob", "bob@example.com", "battery staple")
             != omega::register_status::ok
        || !store->login("alice@example.com", "correct horse",
                         "https://game.example", std::chrono::hours{1})
        || !store->write_save({id, ugi, 1}, "level 3"))
      die("cannot populate the store");
  }

  /// Moves `cursor` past everything the store would push now; returns the
  /// number of rows passed.
  size_t drain(omega::replica_cursor& cursor) {
    size_t total = 0;
    for (;;) {
      auto rows = store->export_rows(cursor, 1000);
      if (rows.empty())
        return total;
      total += rows.size();
    }
  }
};

/// The store the inputs go to, with the cursor of its next push.
struct fixture {
  temp_store target;
  omega::replica_cursor pushed;

  fixture() {
    target.populate();
    target.drain(pushed);
  }
};

void write_seed(const char* path) {
  temp_store source;
  source.populate();
  omega::replica_cursor all;
  auto rows = source.store->export_rows(all, 1000);
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (sink(rows))
    die("cannot serialize the push");
  std::ofstream out{path, std::ios::binary};
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  if (!out)
    die("cannot write the seed");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (auto path = std::getenv("OMEGA_FUZZ_WRITE_SEED")) {
    write_seed(path);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fixture fx;
  omega::replica rows;
  caf::binary_deserializer source{nullptr, reinterpret_cast<const char*>(data),
                                  size};
  if (source(rows))
    return 0; // CAF drops a message that does not deserialize
  fx.target.store->import_rows(rows);
  fx.target.drain(fx.pushed);
  fx.target.store->import_rows(rows);
  if (fx.target.drain(fx.pushed) != 0)
    die("importing the same push twice changed the store twice");
  return 0;
}
