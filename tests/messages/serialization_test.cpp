#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/pfr/core.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <gtest/gtest.h>

#include "actors/actors.hpp"

#ifndef OMEGA_FUZZ_CORPUS_DIR
#  error "OMEGA_FUZZ_CORPUS_DIR must name tests/fuzz/corpus"
#endif

/// Every message of the two type-ID blocks survives CAF's binary
/// serialization with every field set: what cluster mode relies on when a
/// message crosses nodes. The list of types is the type-ID blocks
/// themselves, so a new message is covered without touching this file.

namespace omega {
namespace {

template <class T>
struct is_vector : std::false_type {};

template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

/// Gives every field a value other than its default; `seed` keeps fields of
/// one message apart, so a serializer that swaps two of them fails.
template <class T>
void fill(T& x, int& seed) {
  ++seed;
  if constexpr (std::is_same_v<T, std::string>) {
    x = "s" + std::to_string(seed);
  } else if constexpr (std::is_same_v<T, bool>) {
    x = !x;
  } else if constexpr (std::is_enum_v<T>) {
    x = static_cast<T>(static_cast<std::underlying_type_t<T>>(x) + 1);
  } else if constexpr (std::is_integral_v<T>) {
    x = static_cast<T>(seed * 7 + 1);
  } else if constexpr (is_vector<T>::value) {
    x.resize(2);
    for (auto& y : x)
      fill(y, seed);
  } else if constexpr (std::is_aggregate_v<T>) {
    boost::pfr::for_each_field(x, [&seed](auto& field) { fill(field, seed); });
  }
  // Actor handles stay invalid: without a middleman they serialize as such.
}

struct roundtrip_result {
  std::string name;
  bool ok = false;
  std::string detail;
};

template <class T>
roundtrip_result
roundtrip_value(caf::actor_system& sys, const T& original, std::string name) {
  roundtrip_result result;
  result.name = std::move(name);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(original)) {
    result.detail = "serialize: " + sys.render(err);
    return result;
  }
  T copy;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(copy)) {
    result.detail = "deserialize: " + sys.render(err);
    return result;
  }
  result.ok = copy == original;
  if (!result.ok)
    result.detail = caf::deep_to_string(original) + " came back as "
                    + caf::deep_to_string(copy);
  return result;
}

template <class T>
roundtrip_result roundtrip(caf::actor_system& sys) {
  T original;
  int seed = 0;
  fill(original, seed);
  if (seed <= 1 && boost::pfr::tuple_size_v < T >> 0)
    return {caf::type_name<T>::value, false, "no field was filled"};
  return roundtrip_value(sys, original, caf::type_name<T>::value);
}

template <class T>
struct is_variant : std::false_type {};

template <class... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};

/// A variant of messages (`command`) goes once with each alternative filled.
template <class... Ts>
void roundtrip_alternatives(caf::actor_system& sys, const std::variant<Ts...>*,
                            std::vector<roundtrip_result>& results) {
  auto one = [&](auto alt) {
    int seed = 0;
    fill(alt, seed);
    std::variant<Ts...> original{std::move(alt)};
    results.push_back(roundtrip_value(
      sys, original,
      std::string{"variant holding "} + caf::type_name<decltype(alt)>::value));
  };
  (one(Ts{}), ...);
}

/// Runs `roundtrip` for every aggregate (atoms and handles are not) with an
/// ID in [First, First + sizeof(Is)).
template <caf::type_id_t First, size_t... Is>
std::vector<roundtrip_result>
roundtrip_block(caf::actor_system& sys, std::index_sequence<Is...>) {
  std::vector<roundtrip_result> results;
  auto one = [&](auto tag) {
    using type = typename decltype(tag)::type;
    if constexpr (std::is_aggregate_v<type>)
      results.push_back(roundtrip<type>(sys));
    else if constexpr (is_variant<type>::value)
      roundtrip_alternatives(sys, static_cast<const type*>(nullptr), results);
  };
  (one(caf::type_by_id<First + Is>{}), ...);
  return results;
}

template <class Block>
std::vector<roundtrip_result> roundtrip_block(caf::actor_system& sys) {
  return roundtrip_block<Block::begin>(
    sys, std::make_index_sequence<Block::end - Block::begin>{});
}

struct config : caf::actor_system_config {
  config() {
    omega::add_message_types(*this);
  }
};

TEST(serialization_test, every_message_survives_a_round_trip) {
  config cfg;
  caf::actor_system sys{cfg};
  auto results = roundtrip_block<caf::id_block::omega>(sys);
  auto more = roundtrip_block<caf::id_block::omega_actors>(sys);
  results.insert(results.end(), more.begin(), more.end());
  // 19 commands (each alone and inside a `command`), 21 events and the
  // internal messages at the least.
  EXPECT_GE(results.size(), 90u);
  for (auto& x : results)
    EXPECT_TRUE(x.ok) << x.name << ": " << x.detail;
}

TEST(serialization_test, a_variant_with_an_unknown_alternative_is_refused) {
  config cfg;
  caf::actor_system sys{cfg};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  ASSERT_FALSE(sink(uint8_t{std::variant_size_v<command>}));
  command copy;
  caf::binary_deserializer source{sys, buf};
  EXPECT_TRUE(source(copy));
}

/// The replica-import fuzzer's seed is a real push; once the replicated rows
/// change it no longer deserializes and the fuzzer starts from noise. Write
/// it again as docs/testing.md says.
TEST(serialization_test, the_fuzz_seed_push_is_a_current_replica) {
  std::ifstream in{OMEGA_FUZZ_CORPUS_DIR "/replica_import/push",
                   std::ios::binary};
  ASSERT_TRUE(in) << "missing tests/fuzz/corpus/replica_import/push";
  std::vector<char> buf{std::istreambuf_iterator<char>{in},
                        std::istreambuf_iterator<char>{}};
  replica rows;
  caf::binary_deserializer source{nullptr, buf};
  ASSERT_FALSE(source(rows)) << "the seed is no replica any more";
  EXPECT_EQ(source.remaining(), 0u) << "the seed has bytes left over";
  EXPECT_EQ(rows.accounts.size(), 2u);
  EXPECT_EQ(rows.games.size(), 1u);
  EXPECT_EQ(rows.tokens.size(), 1u);
  EXPECT_EQ(rows.saves.size(), 1u);
}

TEST(serialization_test, fields_decide_equality) {
  cmd::config_host x{"room", true, false, 4, "pw", "key", "l"};
  auto y = x;
  EXPECT_EQ(x, y);
  y.max_peers = 5;
  EXPECT_NE(x, y);
  evt::relayed a{opcode::ice, "[1]", "id", ""};
  auto b = a;
  b.origin_user = "user";
  EXPECT_NE(a, b);
}

} // namespace
} // namespace omega
