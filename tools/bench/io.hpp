#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

namespace omega::bench {

/// The Asio names every part of the load generator shares.
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

/// A strand of the bench's io_context: handlers on one strand never run
/// concurrently, so what a lobby's clients share needs no locks.
using strand_type = net::strand<net::io_context::executor_type>;

} // namespace omega::bench
