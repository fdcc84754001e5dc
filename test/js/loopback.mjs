// Resolves localhost and *.localhost to the loopback address, as RFC 6761
// §6.3 says they are, for tests run against a local edgevault server:
// glibc's resolver does not resolve *.localhost by itself. Loaded with
// `node --import ./loopback.mjs`.
import dns from "node:dns";

const lookup = dns.lookup;

dns.lookup = function (hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  }
  const name = String(hostname).toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost")) {
    if (options && options.all) {
      process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
    } else {
      process.nextTick(callback, null, "127.0.0.1", 4);
    }
    return {};
  }
  return lookup.call(dns, hostname, options, callback);
};
