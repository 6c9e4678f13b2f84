// The page: load the bundle once, then classify a picked or dropped image and a title, all in the browser.
import {
  boxDown, cropPad, draftScale, grayFromRGBA, hashedNgrams, imageTensor, productText, resizeBilinear, setTables,
  vectorize,
} from "./preprocess.js";

const $ = (id) => document.getElementById(id);
const MAX_PIXELS = 64_000_000; // the Python runtime's limit (preprocess.MAX_PIXELS)
const MAX_FILE_BYTES = 50 * 1024 * 1024;
let model = null;

// One thread: multi-threaded wasm needs cross-origin isolation (COOP/COEP headers) that a plain static host
// does not send; one thread works from any host, and the page runs one product at a time anyway.
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL("ort/", document.baseURI).href;

function fail(text) {
  $("message").textContent = text;
  $("message").className = "error";
  $("result").dataset.state = "error";
}

// The page's text kinds (tables/text_kinds.py's entries with `web`): what each loads, and its feeds' arrays.
const TEXT_KINDS = {
  "keras-vectorizer": {
    load: async (text) => {
      const vocab = await fetch(`model/${text.vocabulary}`).then((r) => r.json());
      return new Map(vocab.map((tok, i) => [tok, i]));
    },
    arrays: (text, index, t) => [vectorize(t, index, text.sequence_length, Int32Array)],
  },
  "hashed-ngrams": {
    load: async (text) => new Float32Array(await fetch(`model/${text.idf}`).then((r) => r.arrayBuffer())),
    arrays: (text, idf, t) => hashedNgrams(t, text, idf),
  },
};

async function loadModel() {
  const [config, tables] = await Promise.all(
    ["model/config.json", "model/text-tables.json"].map((p) => fetch(p).then((r) => r.json())),
  );
  setTables(tables);
  const kind = TEXT_KINDS[config.text_kind];
  if (!kind) throw new Error(`this page does not read text of kind ${config.text_kind}`);
  const session = await ort.InferenceSession.create("model/model.onnx", { executionProviders: ["wasm"] });
  return { config, session, kind, assets: await kind.load(config.text) };
}

function tensor(array, dtype) { // one row; int64 inputs (a graph that wants them) get BigInt64
  const data = dtype === "int64" ? BigInt64Array.from(array, (v) => BigInt(v)) : array;
  return new ort.Tensor(dtype, data, [1, array.length]);
}

async function decode(file) {
  if (!file) throw new Error("pick or drop a product image first");
  if (file.size === 0) throw new Error(`cannot read image: ${file.name} is empty`);
  if (file.size > MAX_FILE_BYTES) throw new Error(`image file of ${(file.size / 1e6).toFixed(0)} MB is over 50 MB`);
  // The size from the header first (an <img> decodes lazily): a decompression bomb is refused before decoding.
  const url = URL.createObjectURL(file);
  const probe = new Image();
  const known = await new Promise((ok) => {
    probe.onload = () => ok(true);
    probe.onerror = () => ok(false);
    probe.src = url;
  });
  URL.revokeObjectURL(url);
  if (known && probe.naturalWidth * probe.naturalHeight > MAX_PIXELS) {
    const size = `${probe.naturalWidth}x${probe.naturalHeight}`;
    throw new Error(`image of ${size} pixels is over the limit of 64,000,000 pixels`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    throw new Error(`cannot read image: ${file.name} is not an image format this browser can decode`);
  }
  if (bitmap.width * bitmap.height > MAX_PIXELS) {
    throw new Error(`image of ${bitmap.width}x${bitmap.height} pixels is over the limit of 64,000,000 pixels`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const head = new Uint8Array(await file.slice(0, 3).arrayBuffer());
  const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { rgba, width: bitmap.width, height: bitmap.height, jpeg };
}

export async function classify(file, title, description) {
  const { config, session, kind, assets } = model;
  if (!title || !title.trim()) throw new Error("type the product's title: the models read the text as well");
  const start = performance.now();
  const img = await decode(file);
  const size = config.image_size;
  let gray = { gray: grayFromRGBA(img.rgba), width: img.width, height: img.height };
  const s = img.jpeg ? draftScale(img.width, img.height, size) : 1;
  if (s > 1) gray = boxDown(gray.gray, img.width, img.height, s);
  const { square, side } = cropPad(gray.gray, gray.width, gray.height);
  const pixels = resizeBilinear(square, side, size);
  const arrays = kind.arrays(config.text, assets, productText(title, description));
  const feeds = { [config.image_input]: new ort.Tensor("float32", imageTensor(pixels), [1, size, size, 1]) };
  config.text_inputs.forEach((input, i) => { feeds[input.name] = tensor(arrays[i], input.dtype); });
  const output = await session.run(feeds);
  const probs = Array.from(output[config.output].data);
  const ms = performance.now() - start;
  const top = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
  return { probs, ms, top: top.map(([p, i]) => ({ ...config.labels[i], probability: p })) };
}

function show(answer) {
  const rows = answer.top.map((c) => `<tr><td>${c.prdtypecode}</td><td>${c.name_fr}<br><small>${c.name_en}</small></td>
    <td>${(100 * c.probability).toFixed(1)} %<div class="bar" style="width:${100 * c.probability}%"></div></td></tr>`);
  $("result").innerHTML = `<table><tr><th>code</th><th>category</th><th>probability</th></tr>${rows.join("")}</table>
    <p><small>classified in ${answer.ms.toFixed(1)} ms in this browser</small></p>`;
  $("result").dataset.probs = JSON.stringify(answer.probs);
  $("result").dataset.ms = String(answer.ms);
  $("result").dataset.state = "done";
}

async function onClassify() {
  $("message").className = "";
  $("result").dataset.state = "busy";
  $("classify").disabled = true;
  try {
    show(await classify($("image").files[0], $("title").value, $("description").value));
  } catch (err) {
    fail(err.message || String(err));
  } finally {
    $("classify").disabled = false;
  }
}

function preview(file) {
  $("preview").hidden = !file;
  if (file) $("preview").src = URL.createObjectURL(file);
}

$("image").addEventListener("change", () => preview($("image").files[0]));
$("drop").addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
$("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
$("drop").addEventListener("drop", (e) => {
  e.preventDefault();
  $("drop").classList.remove("over");
  if (e.dataTransfer.files.length) { $("image").files = e.dataTransfer.files; preview(e.dataTransfer.files[0]); }
});
$("classify").addEventListener("click", onClassify);

loadModel().then((loaded) => {
  model = loaded;
  const ms = performance.now(); // since navigation started: HTML, onnxruntime-web, wasm compile, model, session
  $("status").textContent = `Model ${loaded.config.bundle} ready in ${ms.toFixed(0)} ms (onnxruntime-web, wasm).`;
  $("bundle").textContent = `Bundle: ${loaded.config.bundle} (${loaded.config.format}).`;
  $("classify").disabled = false;
  document.body.dataset.ready = String(ms);
}).catch((err) => {
  $("status").textContent = "The model could not be loaded.";
  fail(`cannot load the model: ${err.message || err}`);
});
