// pingpong-cache-key.js - the cache key of nginx's refusal cache: a keyed hash
// (HMAC-SHA256) of the x-secret-key header, so no cache file holds a key.
//
// The raw bytes (r.rawVariables): r.variables turns bytes that are not UTF-8
// into U+FFFD, so two different keys would share one entry and one key's
// refusal would answer the other. The secret is $pingpong_cache_secret, set
// by pingpong-cache-secret.conf (mode 0600, read by the nginx master at
// start-up), so the workers never open a file per request.
// An empty result makes the request bypass the cache (see
// pingpong-refusal-cache.conf): no header, or no secret configured.
import crypto from 'crypto';

function key(r) {
	var k = r.rawVariables.http_x_secret_key;
	var secret = r.rawVariables.pingpong_cache_secret;

	if (!k || k.length == 0 || !secret || secret.length < 32)
		return '';
	return crypto.createHmac('sha256', secret).update(k).digest('base64url');
}

export default { key };
