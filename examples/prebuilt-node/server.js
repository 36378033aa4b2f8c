// A model server in Node.js that speaks the Modelbay contract (docs/prebuilt-images.md):
//   GET  /healthz                    200 once ready
//   POST /model/methods/convert      ConvertIn -> ConvertOut (model.proto), as JSON
//                                    (application/json, proto field names) or protobuf
//                                    (application/x-protobuf), the answer in the Accept type
// No npm packages: the two messages are encoded and decoded by hand (proto3 wire format).
"use strict";
const http = require("http");

const PORT = Number(process.env.PORT || 8080);
const PROTOBUF = "application/x-protobuf";

function convert(input) {
  const celsius = input.celsius || [];
  return {
    fahrenheit: celsius.map((c) => c * 9 / 5 + 32),
    label: input.label || "",
    count: celsius.length,
  };
}

// --- proto3 wire format -------------------------------------------------------------------
function readVarint(buf, pos) {
  let result = 0n, shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const byte = buf[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function decodeConvertIn(buf) {
  const out = { celsius: [], label: "" };
  let pos = 0;
  while (pos < buf.length) {
    let key; [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (field === 1 && wire === 2) {          // packed repeated double
      let len; [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      for (; pos < end; pos += 8) out.celsius.push(buf.readDoubleLE(pos));
    } else if (field === 1 && wire === 1) {   // unpacked double
      out.celsius.push(buf.readDoubleLE(pos)); pos += 8;
    } else if (field === 2 && wire === 2) {
      let len; [len, pos] = readVarint(buf, pos);
      out.label = buf.toString("utf8", pos, pos + Number(len)); pos += Number(len);
    } else if (wire === 0) { [, pos] = readVarint(buf, pos); }
    else if (wire === 1) { pos += 8; }
    else if (wire === 5) { pos += 4; }
    else if (wire === 2) { let len; [len, pos] = readVarint(buf, pos); pos += Number(len); }
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

function varint(value) {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  const bytes = [];
  while (v > 0x7fn) { bytes.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}

function encodeConvertOut(msg) {
  const parts = [];
  if (msg.fahrenheit.length) {
    const doubles = Buffer.alloc(8 * msg.fahrenheit.length);
    msg.fahrenheit.forEach((f, i) => doubles.writeDoubleLE(f, 8 * i));
    parts.push(varint((1 << 3) | 2), varint(doubles.length), doubles);
  }
  if (msg.label) {
    const text = Buffer.from(msg.label, "utf8");
    parts.push(varint((2 << 3) | 2), varint(text.length), text);
  }
  if (msg.count) parts.push(varint((3 << 3) | 0), varint(msg.count));
  return Buffer.concat(parts);
}

// --- HTTP ---------------------------------------------------------------------------------
function problem(res, status, detail) {
  res.writeHead(status, { "Content-Type": "application/problem+json" });
  res.end(JSON.stringify({ type: "about:blank", title: http.STATUS_CODES[status], status, detail }));
}

function parseJson(body) {
  const doc = JSON.parse(body.toString("utf8") || "{}");
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new Error("expected an object");
  const celsius = doc.celsius || [];
  if (!Array.isArray(celsius) || celsius.some((c) => typeof c !== "number")) {
    throw new Error("field 'celsius' must be a list of numbers");
  }
  return { celsius, label: typeof doc.label === "string" ? doc.label : "" };
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && (req.url === "/healthz" || req.url === "/readyz")) {
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end('{"status":"ok"}');
  }
  if (req.method !== "POST" || req.url !== "/model/methods/convert") {
    return problem(res, 404, `no method at ${req.url}; this model has 'convert'`);
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const type = (req.headers["content-type"] || "application/json").split(";")[0].trim();
    let input;
    try {
      input = type === PROTOBUF ? decodeConvertIn(body) : parseJson(body);
    } catch (err) {
      return problem(res, 400, `the request is not a ConvertIn: ${err.message}`);
    }
    const output = convert(input);
    if ((req.headers.accept || "").includes(PROTOBUF)) {
      res.writeHead(200, { "Content-Type": PROTOBUF });
      return res.end(encodeConvertOut(output));
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    // proto3 JSON writes int64 as a string.
    res.end(JSON.stringify({ ...output, count: String(output.count) }));
  });
});

server.listen(PORT, "0.0.0.0", () => console.log(`thermo model listening on ${PORT}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
