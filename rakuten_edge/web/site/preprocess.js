// The Python runtime's preprocessing (rakuten_edge/runtime/preprocess.py), step for step, in the page.
// `tables` comes from text-tables.json, written by `rakuten-edge web` from Python's own tables (html5 entities,
// cp1252, Unicode whitespace), so that the two sides cannot drift apart.

export const WHITE_THRESHOLD = 245;
const PRECISION_BITS = 22; // Pillow's Resample.c: 32 - 8 - 2

// ------------------------------------------------------------------------------------------------ text

let T = null;
let SPACES = null;
let EDGE_SPACES = null;
const TAG = /<[^>]*>/g;
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu; // u: counts code points, as Python does
const KERAS_PUNCT = /[!"#$%&()*+,\-./:;<=>?@[\\\]^_`{|}~']/g;
const ASCII_SPACE = /[ \t\n\r\x0b\x0c]+/;

export function setTables(tables) {
  T = tables;
  T.cp1252 = new Map(Object.entries(tables.cp1252_encode).map(([ch, b]) => [ch, b]));
  const cls = "[" + tables.whitespace.map((c) => "\\u" + c.toString(16).padStart(4, "0")).join("") + "]";
  SPACES = new RegExp(cls + "+", "g");
  EDGE_SPACES = new RegExp("^" + cls + "+|" + cls + "+$", "g");
  const cont = tables.continuation.map((c) => "\\u" + c.toString(16).padStart(4, "0")).join("");
  T.mojibake = new RegExp("[\\u00c2-\\u00f4][" + cont + "\\u0080-\\u00bf]{1,3}", "g");
}

function charref(match, s) { // Python's html._replace_charref
  if (s[0] === "#") {
    const hex = s[1] === "x" || s[1] === "X";
    const digits = s.slice(hex ? 2 : 1).replace(/;$/, "");
    const num = hex ? parseInt(digits, 16) : Number(digits.length > 12 ? "1e13" : digits);
    if (String(num) in T.invalid_charrefs) return T.invalid_charrefs[String(num)];
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
    if (T.invalid_codepoints.includes(num)) return "";
    return String.fromCodePoint(num);
  }
  if (Object.hasOwn(T.html5, s)) return T.html5[s];
  for (let x = s.length - 1; x > 1; x--) {
    if (Object.hasOwn(T.html5, s.slice(0, x))) return T.html5[s.slice(0, x)] + s.slice(x);
  }
  return "&" + s;
}

function unescape(s) {
  return s.includes("&") ? s.replace(CHARREF, charref) : s;
}

function encodeBytes(run, codec) { // null where Python's str.encode(codec) raises
  const bytes = [];
  for (const ch of run) {
    const code = ch.codePointAt(0);
    if (codec === "cp1252") {
      if (!T.cp1252.has(ch)) return null;
      bytes.push(T.cp1252.get(ch));
    } else {
      if (code > 0xff) return null;
      bytes.push(code);
    }
  }
  return new Uint8Array(bytes);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function redecode(run) {
  for (const codec of ["cp1252", "latin-1"]) {
    const bytes = encodeBytes(run, codec);
    if (bytes === null) continue;
    try { return UTF8.decode(bytes); } catch { continue; }
  }
  return run;
}

export function cleanText(text) {
  if (text === null || text === undefined) return "";
  text = String(text);
  if (["nan", "none"].includes(text.toLowerCase())) return "";
  text = unescape(unescape(text)).replace(TAG, " ");
  text = text.replace(T.mojibake, redecode);
  return text.replace(SPACES, " ").replace(EDGE_SPACES, "");
}

export function productText(designation, description) {
  return [cleanText(designation), cleanText(description)].filter((p) => p).join(" ");
}

export function kerasTokens(text) { // lower_and_strip_punctuation (ASCII lowercase only) + whitespace split
  text = text.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(KERAS_PUNCT, "");
  return text.split(ASCII_SPACE).filter((t) => t);
}

export function vectorize(text, index, length, Int) {
  const out = new Int(length);
  kerasTokens(text).slice(0, length).forEach((tok, i) => { out[i] = index.has(tok) ? index.get(tok) : 1; });
  return out;
}

// ----------------------------------------------------------------------------------------------- image

export function grayFromRGBA(rgba) { // Pillow's convert("L"): L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16
  const gray = new Uint8Array(rgba.length / 4);
  for (let i = 0, j = 0; j < gray.length; i += 4, j++) {
    gray[j] = (rgba[i] * 19595 + rgba[i + 1] * 38470 + rgba[i + 2] * 7471 + 0x8000) >>> 16;
  }
  return gray;
}

// Python opens JPEGs in draft mode: libjpeg decodes straight at 1/2, 1/4 or 1/8 scale (Pillow's draft() picks the
// largest scale that keeps both sides >= the model's size). The browser decodes at full size, so the page averages
// s x s blocks instead: on 40 generated 500x500 JPEGs the mean pixel difference to Python fell from 7.0 to 0.56.
export function draftScale(width, height, size) {
  const scale = Math.min(Math.floor(width / size), Math.floor(height / size));
  return [8, 4, 2, 1].find((s) => scale >= s) || 1;
}

export function boxDown(gray, width, height, s) {
  const w = Math.ceil(width / s), h = Math.ceil(height / s), out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < s; dy++) {
        const yy = Math.min(y * s + dy, height - 1);
        for (let dx = 0; dx < s; dx++) sum += gray[yy * width + Math.min(x * s + dx, width - 1)];
      }
      out[y * w + x] = Math.floor(sum / (s * s) + 0.5);
    }
  }
  return { gray: out, width: w, height: h };
}

export function cropPad(gray, width, height) { // white border crop, then a white square, content centred
  let top = height, left = width, bottom = -1, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (gray[y * width + x] < WHITE_THRESHOLD) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  if (bottom < 0) { top = 0; left = 0; bottom = height - 1; right = width - 1; }
  const h = bottom - top + 1, w = right - left + 1, side = Math.max(h, w);
  const square = new Uint8Array(side * side).fill(255);
  const oy = (side - h) >> 1, ox = (side - w) >> 1;
  for (let y = 0; y < h; y++) {
    square.set(gray.subarray((top + y) * width + left, (top + y) * width + left + w), (oy + y) * side + ox);
  }
  return { square, side };
}

function coeffs(inSize, outSize) { // Pillow's precompute_coeffs + normalize_coeffs_8bpc, bilinear filter
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1.0);
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const kk = new Int32Array(outSize * ksize), bounds = new Int32Array(outSize * 2);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale, ss = 1.0 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = new Float64Array(xmax);
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      let t = Math.abs((x + xmin - center + 0.5) * ss);
      k[x] = t < 1.0 ? 1.0 - t : 0.0;
      ww += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0.0 ? k[x] / ww : k[x];
      kk[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { kk, bounds, ksize };
}

function clip8(ss) {
  const v = Math.floor(ss / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

export function resizeBilinear(square, side, size) { // Image.resize(BILINEAR): horizontal pass, then vertical
  if (side === size) return square.slice();
  const h = coeffs(side, size), v = coeffs(side, size);
  const first = v.bounds[0], last = v.bounds[size * 2 - 2] + v.bounds[size * 2 - 1];
  const rows = last - first, temp = new Uint8Array(rows * size);
  for (let y = 0; y < rows; y++) {
    for (let xx = 0; xx < size; xx++) {
      const xmin = h.bounds[xx * 2], xmax = h.bounds[xx * 2 + 1];
      let ss = 1 << (PRECISION_BITS - 1);
      for (let x = 0; x < xmax; x++) ss += square[(y + first) * side + x + xmin] * h.kk[xx * h.ksize + x];
      temp[y * size + xx] = clip8(ss);
    }
  }
  const out = new Uint8Array(size * size);
  for (let yy = 0; yy < size; yy++) {
    const ymin = v.bounds[yy * 2] - first, ymax = v.bounds[yy * 2 + 1];
    for (let xx = 0; xx < size; xx++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) ss += temp[(y + ymin) * size + xx] * v.kk[yy * v.ksize + y];
      out[yy * size + xx] = clip8(ss);
    }
  }
  return out;
}

export function imageTensor(pixels) { // float32(x) / 255: one rounding of the exact quotient, as numpy does
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return out;
}

// ----------------------------------------------------------------------------------------------- hashed n-grams
// runtime/ngrams.py, step for step: Keras tokens, word and character n-grams, CRC-32 into buckets, sublinear
// TF-IDF (per kind where spec.norm is "per-kind"), the largest weights kept, L2-normalised, ids ascending.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();
const UTF8_OUT = new TextEncoder(); // a lone surrogate becomes U+FFFD, as ngrams.utf8 writes it

export function crc32(bytes, seed = 0) { // zlib.crc32(bytes, seed): CRC-32/ISO-HDLC
  let c = (seed ^ 0xffffffff) >>> 0;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function ngramFeatures(text, spec) {
  const tokens = kerasTokens(text).slice(0, spec.max_words);
  const out = [];
  for (let n = spec.word_ngrams[0]; n <= spec.word_ngrams[1]; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push("w:" + tokens.slice(i, i + n).join(" "));
  }
  for (const token of tokens) {
    const points = Array.from(` ${token} `); // code points, as Python slices a str
    for (let n = spec.char_ngrams[0]; n <= spec.char_ngrams[1]; n++) {
      for (let i = 0; i + n <= points.length; i++) out.push("c:" + points.slice(i, i + n).join(""));
    }
  }
  return out;
}

function tfidf(counts, idf) { // Map id -> tf  =>  Map id -> (1 + ln tf) * idf
  return new Map([...counts].map(([id, tf]) => [id, (1 + Math.log(tf)) * idf[id]]));
}

export function hashedNgrams(text, spec, idf) { // -> [ids Int32Array, weights Float32Array], one row
  const perKind = (spec.norm || "joint") === "per-kind"; // a manifest before `norm` existed: joint
  const counts = [new Map(), new Map()]; // word n-grams, character n-grams
  for (const feature of ngramFeatures(text, spec)) {
    const id = crc32(UTF8_OUT.encode(feature), spec.seed) % spec.buckets;
    const kind = perKind && feature[0] === "c" ? counts[1] : counts[0];
    kind.set(id, (kind.get(id) || 0) + 1);
  }
  let weighted = tfidf(counts[0], idf);
  if (perKind) {
    const summed = new Map();
    for (const kind of [weighted, tfidf(counts[1], idf)]) {
      const kindNorm = Math.sqrt([...kind.values()].reduce((sum, w) => sum + w * w, 0));
      for (const [id, w] of kind) summed.set(id, (summed.get(id) || 0) + w / kindNorm);
    }
    weighted = summed;
  }
  const kept = [...weighted].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, spec.max_features);
  const norm = perKind ? 1 : Math.sqrt(kept.reduce((sum, [, w]) => sum + w * w, 0));
  kept.sort((a, b) => a[0] - b[0]);
  const width = Math.max(1, kept.length);
  const ids = new Int32Array(width);
  const weights = new Float32Array(width);
  kept.forEach(([id, w], i) => { ids[i] = id; weights[i] = norm ? w / norm : 0; });
  return [ids, weights];
}
