// ProxyBodyLimitLua: the Lua filter an environment proxy's HAProxy loads to
// hold a request body without a length (chunked HTTP/1.1, HTTP/2 without
// Content-Length) to ROUTER_MAX_BODY at any size.
//
// Why a filter: HAProxy judges a body only within one buffer (16 KB), so
// `wait-for-body` + `req.body_size` cannot see past it. The filter counts the
// body as it streams to the app. Once the count would pass the limit it
// forwards nothing more, swallows the rest and, at the end of the request,
// answers 413 and aborts the app's side. So the app never gets more than
// `limit` bytes, and the client reads a clean 413 (no reset under its upload).
// A client that keeps sending after that is cut off (reset) once it has sent
// kSwallowCap more bytes; the request timeouts bound it in time.
//
// A body with a Content-Length over the limit never reaches the filter: the
// backend's `http-request deny deny_status 413` refuses it on its headers.
//
// Use (strider/proxy_config.cc): `lua-load <dir>/body_limit.lua` in global,
// `filter lua.rv-body-limit BYTES` in a backend. The text is a constant,
// written beside haproxy.cfg.
#pragma once

#include <string_view>

namespace rv::strider {

inline constexpr std::string_view kProxyBodyLimitFile = "body_limit.lua";
inline constexpr std::string_view kProxyBodyLimitFilter = "lua.rv-body-limit";

// The Lua source (HAProxy 2.6's filter API).
std::string_view ProxyBodyLimitLua();

}  // namespace rv::strider
