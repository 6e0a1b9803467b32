/**
 * Loaded with `node --import` before Portkey's gateway (1.15.2) starts.
 * It changes two things and nothing else:
 *
 * - Servers that are given a port without a host listen on 127.0.0.1, so
 *   the gateway is not reachable from other machines during the benchmark.
 * - Responses from fetch get a mutable copy of their headers. The gateway
 *   appends its own headers to a streamed provider response; under Node
 *   20.20 with its bundled @hono/node-server 1.19.19, the headers of that
 *   response are the immutable ones of fetch, and every streamed request
 *   fails with "TypeError: immutable". The copy costs the gateway one
 *   Response object per request.
 */
import http from 'node:http';

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function listenOnLoopback(...args) {
  if (typeof args[0] === 'number') {
    if (args[1] === undefined) {
      args[1] = '127.0.0.1';
    } else if (typeof args[1] === 'function') {
      args.splice(1, 0, '127.0.0.1');
    }
  }
  return listen.apply(this, args);
};

const NativeResponse = globalThis.Response;
const nativeFetch = globalThis.fetch;
globalThis.fetch = async function fetchWithMutableHeaders(input, init) {
  const response = await nativeFetch(input, init);
  return new NativeResponse(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: new Headers(response.headers),
  });
};
