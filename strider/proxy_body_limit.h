// ProxyBodyLimitLua: the Lua filter an environment proxy's HAProxy loads to
// hold every request body to ROUTER_MAX_BODY, at any size, with a length or
// without one (chunked HTTP/1.1, HTTP/2 without Content-Length).
//
// Why a filter: HAProxy judges a body only within one buffer (16 KB), so
// `wait-for-body` + `req.body_size` cannot see past it; and a 413 sent on the
// headers while the client is still uploading is often lost under a reset
// (HAProxy has no lingering close). The filter counts the body as it streams
// to the app (a Content-Length over the limit counts as over from the start).
// Once the count would pass the limit it forwards nothing more, reads and
// drops the rest and, at the end of the request, answers 413 and aborts the
// app's side. So the app never gets more than `limit` bytes, and the client
// reads the 413 after its upload (now and then a reset under load). An app
// that answers on the headers alone, before reading the body (busybox httpd's
// 501 to a POST), may see its answer reach the client first: HAProxy passes
// an answer on as it comes. A client that keeps sending past kSwallowCap
// more bytes is cut off; the request timeouts bound it in time.
//
// A request that announces a larger Content-Length and waits for
// 100-continue never reaches the filter: the backend's `http-request deny
// deny_status 413` refuses it on its headers (its client sent nothing yet).
//
// Use (strider/proxy_config.cc): `lua-load <dir>/body_limit.lua` in global
// (kProxyBodyLimitFile, with the config's other file names in
// strider/proxy_config.h), `filter lua.rv-body-limit` in a backend; the
// limit is the request's variable txn.rv_body (bytes), which the frontend
// sets from a map, so the runtime API changes it without a reload. The
// text is a constant, written beside haproxy.cfg.
#pragma once

#include <string_view>

namespace rv::strider {

inline constexpr std::string_view kProxyBodyLimitFilter = "lua.rv-body-limit";

// The Lua source (HAProxy 2.6's filter API).
std::string_view ProxyBodyLimitLua();

}  // namespace rv::strider
