// Asio, Asio SSL and Beast compiled once for the whole project (separate compilation): every other
// translation unit only sees declarations, which keeps the 2-core build fast.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
