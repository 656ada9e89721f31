#pragma once

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/pfr/core.hpp>
#include <caf/error.hpp>
#include <caf/meta/omittable.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <caf/type_id.hpp>

/// Every message is a plain aggregate whose fields are written once, in its
/// struct. Boost.PFR reads them back for equality and for CAF's inspector,
/// so adding a field to a message is a one-line change that serialization
/// (and with it cluster mode) cannot miss.

namespace omega {

/// True if `T` is one of the alternatives of the variant `V`.
template <class T, class V>
struct is_alternative;

template <class T, class... Ts>
struct is_alternative<T, std::variant<Ts...>>
  : std::disjunction<std::is_same<T, Ts>...> {};

template <class T, class V>
constexpr bool is_alternative_v = is_alternative<T, V>::value;

/// Compares two messages field by field.
template <class T>
bool fields_equal(const T& x, const T& y) {
  return boost::pfr::structure_tie(x) == boost::pfr::structure_tie(y);
}

/// Hands every field of `x` to a CAF inspector, under the type's ID name.
template <class Inspector, class T>
typename Inspector::result_type inspect_fields(Inspector& f, T& x) {
  return std::apply(
    [&f](auto&... xs) {
      return f(caf::meta::type_name(caf::type_name<T>::value), xs...);
    },
    boost::pfr::structure_tie(x));
}

/// Loads alternative number `tag` of `x` (see `inspect_variant`).
template <class Inspector, class... Ts, size_t... Is>
typename Inspector::result_type
load_alternative(Inspector& f, std::variant<Ts...>& x, uint8_t tag,
                 std::index_sequence<Is...>) {
  typename Inspector::result_type result
    = caf::make_error(caf::sec::invalid_argument, "unknown alternative");
  ((tag == Is ? (void) (result = f(x.template emplace<Is>())) : void()), ...);
  return result;
}

/// Hands a variant of messages to a CAF inspector as `caf::variant` does:
/// one byte for the alternative, then that alternative's fields. CAF 0.17
/// knows no `std::variant`.
template <class Inspector, class... Ts>
typename Inspector::result_type
inspect_variant(Inspector& f, std::variant<Ts...>& x) {
  if constexpr (Inspector::reads_state) {
    auto tag = static_cast<uint8_t>(x.index());
    return std::visit(
      [&](auto& alt) { return f(caf::meta::omittable(), tag, alt); }, x);
  } else {
    uint8_t tag = 0;
    if (auto err = f(tag))
      return err;
    return load_alternative(f, x, tag, std::index_sequence_for<Ts...>{});
  }
}

/// A message of namespace `omega` itself: an aggregate with a type ID
/// (messages/type_ids.hpp and actors/actors.hpp list them) that is none of
/// `Excluded` (the variants whose namespaces have their own operations).
/// `conjunction` keeps `has_type_id` from being instantiated for those and
/// for non-aggregates, which may get their type ID later in the file.
template <class T, class... Excluded>
constexpr bool is_plain_message_v
  = std::conjunction_v<std::negation<is_alternative<T, Excluded>>...,
                       std::is_aggregate<T>, caf::has_type_id<T>>;

} // namespace omega

/// Gives every message of a namespace `==` and `inspect` from its fields;
/// `Trait` selects the namespace's messages.
#define OMEGA_FIELDS_OPERATIONS(Trait)                                         \
  template <class T, class = std::enable_if_t<Trait<T>>>                       \
  bool operator==(const T& x, const T& y) {                                    \
    return ::omega::fields_equal(x, y);                                        \
  }                                                                            \
  template <class T, class = std::enable_if_t<Trait<T>>>                       \
  bool operator!=(const T& x, const T& y) {                                    \
    return !::omega::fields_equal(x, y);                                       \
  }                                                                            \
  template <class Inspector, class T, class = std::enable_if_t<Trait<T>>>      \
  typename Inspector::result_type inspect(Inspector& f, T& x) {                \
    return ::omega::inspect_fields(f, x);                                      \
  }
