#pragma once

/// How omega's tools read their command lines: Boost.Program_options with
/// the one syntax they all accept, `--name value` and `--name=value`.
/// Names must be spelled out (no abbreviations), `-h` is the only short
/// option, and any other word that starts with a single dash is an argument.

#include <string>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

namespace omega::command_line {

namespace po = boost::program_options;

/// Long options only, without guessing a name from its prefix: `-h` comes
/// from `short_help`, so that `-5` or `-` stay arguments.
constexpr int style = po::command_line_style::allow_long
                      | po::command_line_style::long_allow_adjacent
                      | po::command_line_style::long_allow_next;

/// Reads `-h` as `--help`.
inline std::pair<std::string, std::string> short_help(const std::string& x) {
  if (x == "-h")
    return {"help", {}};
  return {};
}

/// Reads `--name=` as `--name` with an empty value, which program_options
/// rejects on its own (e.g. `--origin=` for "any origin").
inline std::vector<po::option> empty_value(std::vector<std::string>& args) {
  auto& x = args.front();
  if (x.size() < 4 || x.compare(0, 2, "--") != 0 || x.find('=') != x.size() - 1)
    return {};
  po::option result{x.substr(2, x.size() - 3), {std::string{}}};
  result.original_tokens.push_back(x);
  args.erase(args.begin());
  return {std::move(result)};
}

/// Reads a lone `--` as an argument, for the tools in which it does not end
/// the options (their old parsers rejected it as any other stray word).
inline std::vector<po::option> literal_dashes(std::vector<std::string>& args) {
  if (args.front() != "--")
    return {};
  po::option result{std::string{}, {args.front()}};
  result.original_tokens.push_back(args.front());
  args.erase(args.begin());
  return {std::move(result)};
}

/// Both `empty_value` and `literal_dashes`.
inline std::vector<po::option>
empty_value_or_dashes(std::vector<std::string>& args) {
  auto result = literal_dashes(args);
  return result.empty() ? empty_value(args) : result;
}

/// A parser of `argv` (without the program name) in the tools' syntax; `--`
/// ends the options unless `dashes_end_options` is false.
inline po::command_line_parser parser(int argc, char** argv,
                                      const po::options_description& opts,
                                      bool dashes_end_options = true) {
  po::command_line_parser result{argc, argv};
  result.options(opts).style(style).extra_parser(short_help);
  if (dashes_end_options)
    result.extra_style_parser(empty_value);
  else
    result.extra_style_parser(empty_value_or_dashes);
  return result;
}

/// A flag that may be given more than once, e.g. `--help -h`.
inline po::typed_value<std::vector<std::string>>* repeatable_flag() {
  return po::value<std::vector<std::string>>()->zero_tokens()->composing();
}

/// The name of the option an error is about without its dashes and any
/// `=value`, e.g. "data-dir".
inline std::string option_name(const po::error_with_option_name& e) {
  auto name = e.get_option_name();
  auto first = name.find_first_not_of('-');
  if (first == std::string::npos)
    return {};
  return name.substr(first, name.find('=') - first);
}

/// Whether `e` says that an option lacks its value.
inline bool is_missing_value(const po::error& e) {
  auto syntax = dynamic_cast<const po::invalid_command_line_syntax*>(&e);
  return syntax != nullptr
         && syntax->kind() == po::invalid_syntax::missing_parameter;
}

} // namespace omega::command_line
