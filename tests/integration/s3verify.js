#!/usr/bin/env node
// A SigV4-checking front for s3rver, which (in version 3) checks the access
// key of a V4 request but not its signature nor its payload hash. Every
// request with an Authorization header is verified here, independently of
// replicator/s3.c: the signature over the request exactly as it arrived (raw
// path, re-canonicalised query, the signed headers), the credential scope,
// the clock (15 minutes, as S3), and a signed payload's SHA-256 against the
// body. A failure is answered as S3 answers it (403 SignatureDoesNotMatch,
// 403 InvalidAccessKeyId, 400 XAmzContentSHA256Mismatch, ...); a request
// that passes is forwarded to s3rver untouched. One log line per request on
// stderr: "verified METHOD PATH" or "rejected CODE METHOD PATH: why".
//
//   node s3verify.js UPSTREAM-PORT PORT-FILE ACCESS-KEY SECRET-KEY [REGION]
//
// Listens on 127.0.0.1, an ephemeral port written to PORT-FILE.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const [upstreamPort, portFile, accessKey, secretKey, region = 'us-east-1'] = process.argv.slice(2);
if (!upstreamPort || !portFile || !accessKey || !secretKey) {
  console.error('usage: s3verify.js UPSTREAM-PORT PORT-FILE ACCESS-KEY SECRET-KEY [REGION]');
  process.exit(2);
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const hmac = (k, s) => crypto.createHmac('sha256', k).update(s).digest();

// RFC 3986 encoding as SigV4 wants it: everything but unreserved bytes.
function enc(s) {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b)
      : '%' + b.toString(16).toUpperCase().padStart(2, '0')))
    .join('');
}

function canonicalQuery(raw) {
  if (!raw) return '';
  return raw.split('&').filter((p) => p !== '').map((p) => {
    const i = p.indexOf('=');
    const name = decodeURIComponent(i < 0 ? p : p.slice(0, i));
    const value = i < 0 ? '' : decodeURIComponent(p.slice(i + 1));
    return [enc(name), enc(value)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => n + '=' + v).join('&');
}

function s3error(res, status, code, message, why, req) {
  console.error('rejected %s %s %s: %s', code, req.method, req.url, why);
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code + '</Code><Message>' +
    message + '</Message><RequestId>s3verify</RequestId></Error>';
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

// Returns null when the request is properly signed, or [status, code, message, why].
function verify(req, body) {
  const auth = req.headers['authorization'];
  const m = /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.', auth];
  const [, ak, date, reg, signedList, sig] = m;
  if (ak !== accessKey) {
    return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', ak];
  }
  if (reg !== region) return [400, 'AuthorizationHeaderMalformed', 'The region is wrong; expecting ' + region + '.', reg];
  const amzDate = req.headers['x-amz-date'] || '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
    return [403, 'AccessDenied', 'x-amz-date is missing or does not match the credential date.', amzDate];
  }
  const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
    +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - t) > 15 * 60 * 1000) {
    return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', amzDate];
  }
  const signed = signedList.split(';');
  for (const need of ['host', 'x-amz-content-sha256', 'x-amz-date']) {
    if (!signed.includes(need)) return [403, 'AccessDenied', 'Header ' + need + ' must be signed.', signedList];
  }
  const payload = req.headers['x-amz-content-sha256'] || '';
  if (/^[0-9a-f]{64}$/.test(payload)) {
    if (sha256(body) !== payload) {
      return [400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", payload];
    }
  } else if (payload !== 'UNSIGNED-PAYLOAD') {
    return [400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256.', payload];
  }
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const headers = signed.map((h) => {
    const v = req.headers[h];
    if (v === undefined) return null;
    return h + ':' + String(v).trim().replace(/\s+/g, ' ') + '\n';
  });
  if (headers.includes(null)) return [403, 'AccessDenied', 'A signed header is missing.', signedList];
  const creq = [req.method, path, canonicalQuery(q < 0 ? '' : req.url.slice(q + 1)), headers.join(''),
    signedList, payload].join('\n');
  const sts = ['AWS4-HMAC-SHA256', amzDate, date + '/' + region + '/s3/aws4_request', sha256(creq)].join('\n');
  let k = hmac('AWS4' + secretKey, date);
  k = hmac(hmac(hmac(k, region), 's3'), 'aws4_request');
  const want = crypto.createHmac('sha256', k).update(sts).digest('hex');
  if (!crypto.timingSafeEqual(Buffer.from(want), Buffer.from(sig))) {
    return [403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      'canonical request:\n' + creq];
  }
  return null;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.headers['authorization'] !== undefined) {
      const bad = verify(req, body);
      if (bad) return s3error(res, bad[0], bad[1], bad[2], bad[3], req);
      console.error('verified %s %s', req.method, req.url);
    } else {
      console.error('unsigned %s %s', req.method, req.url);
    }
    const up = http.request({ host: '127.0.0.1', port: +upstreamPort, method: req.method, path: req.url,
      headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', (e) => s3error(res, 502, 'BadGateway', 'upstream: ' + e.message, e.message, req));
    up.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
