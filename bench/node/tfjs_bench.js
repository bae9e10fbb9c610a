// Time TF.js (tfjs-core + tfjs-converter 4.22.0, wasm backend) on a TF.js
// graph model: model.executeAsync() on a prepared input tensor, outputs
// read back (dataSync) inside the timing.
// Usage: node tfjs_bench.js MODEL.json --threads N [--iterations N] [--warmup N]
//          [--rgb FILE --width W --height H]
// The input is the first signature input: uint8 image inputs are fed as
// int32 (TF.js has no uint8 tensors), float inputs as 0..255 floats (the
// human-models CenterNet takes RGB 0..255). --rgb gives raw interleaved RGB
// bytes of exactly W x H (run.sh resizes the photo to the model's size);
// without it a fixed pattern is used. Dynamic dims take W x H.
// Prints one JSON line.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
const tfconv = require('@tensorflow/tfjs-converter');
const wasm = require('@tensorflow/tfjs-backend-wasm');

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
}

// TensorFlow fills the attrs an old GraphDef lacks with its op
// definitions' defaults when it loads a graph, so TF.js models converted
// with TensorFlow always carry them; TF.js itself has no defaults for these
// and fails on the aiy graph (an old export without `dilations`).
function fillDefaultAttrs(topology) {
  const b64 = (str) => Buffer.from(str).toString('base64');
  for (const node of (topology && topology.node) || []) {
    if (['Conv2D', 'DepthwiseConv2dNative', '_FusedConv2D', 'FusedDepthwiseConv2dNative'].includes(node.op)) {
      node.attr = node.attr || {};
      if (!node.attr.dilations) node.attr.dilations = { list: { i: ['1', '1', '1', '1'] } };
      if (!node.attr.data_format) node.attr.data_format = { s: b64('NHWC') };
    }
  }
}

function fileHandler(jsonPath) {
  return {
    load: async () => {
      const j = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
      const specs = [];
      const bufs = [];
      for (const group of j.weightsManifest) {
        for (const p of group.paths) bufs.push(fs.readFileSync(path.join(path.dirname(jsonPath), p)));
        specs.push(...group.weights);
      }
      fillDefaultAttrs(j.modelTopology);
      const all = Buffer.concat(bufs);
      return {
        modelTopology: j.modelTopology, weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: j.format, generatedBy: j.generatedBy, convertedBy: j.convertedBy,
        signature: j.signature, userDefinedMetadata: j.userDefinedMetadata,
      };
    },
  };
}

// tfjs-backend-wasm turns its threaded build off under Node (its
// WASM_HAS_MULTITHREAD_SUPPORT flag returns false for IS_NODE, tfjs issue
// 3830): the pthread worker and the main script are handed over as Blob
// URLs, which Node's Worker and the worker's importScripts cannot open.
// For --threads > 1 we turn the flag on and give them files instead: Blob
// contents are recorded at construction and createObjectURL writes them to
// a temporary .js file. The wasm binary and kernels are tfjs' own
// (tfjs-backend-wasm-threaded-simd.wasm), as a browser would run them.
function enableThreadsUnderNode(threads) {
  const os = require('os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'el-bench-tfjs-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const parts = new WeakMap();
  const NodeBlob = global.Blob;
  global.Blob = class extends NodeBlob {
    constructor(p, o) { super(p, o); parts.set(this, p.map(String).join('')); }
  };
  let mainScript = null;
  let n = 0;
  const orig = URL.createObjectURL;
  URL.createObjectURL = (blob) => {
    if (!parts.has(blob)) return orig(blob);
    let text = parts.get(blob);
    const file = path.join(dir, `blob${n++}.js`);
    if (text.includes('importScripts(objectUrl)')) {
      // the pthread worker: load the main script from its file
      text = text.replace('var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)',
        `importScripts(${JSON.stringify(mainScript)})`);
    }
    fs.writeFileSync(file, text);
    return file;
  };
  // The main script Blob goes to the workers as e.data.urlOrBlob: record it
  // as a file now (it is built before the worker URL is asked for).
  const origBlob = global.Blob;
  global.Blob = class extends origBlob {
    constructor(p, o) {
      super(p, o);
      const t = parts.get(this);
      if (t && t.startsWith('var WasmBackendModuleThreadedSimd')) {
        mainScript = path.join(dir, 'main.js');
        // the bundle's aliases for the Node modules the factory uses
        const prelude = "var require$$0 = require('fs'), require$$1 = require('path'), " +
          "require$$3 = require('perf_hooks'), require$$4 = require('os'), commonjsGlobal = globalThis;\n";
        fs.writeFileSync(mainScript, prelude + t);
      }
    }
  };
  // The backend caps its XNNPACK pool at (logical cores / 2) ("many x86-64
  // processors have 2 threads per core"), which is 1 on a 2-vCPU machine,
  // in a browser too. To time it at the thread count asked for, its core
  // query (os.cpus() under Node) sees 2 x threads entries.
  const realCpus = os.cpus;
  os.cpus = () => {
    const c = realCpus();
    while (c.length < 2 * threads) c.push(c[0]);
    return c;
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
}

async function main() {
  const model = process.argv[2];
  const threads = Number(arg('--threads', 1));
  const iterations = Number(arg('--iterations', 20));
  const warmup = Number(arg('--warmup', 3));
  if (threads > 1) enableThreadsUnderNode(threads);
  wasm.setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  // TF.js has no Assert kernel (its Python converter drops the asserts of
  // TF1 graphs); the graphs edgelens convert writes keep them, so they run
  // here as no-ops, as in a converted model.
  tfconv.registerOp('Assert', (node) => [tf.scalar(true, 'bool')]);
  let t0 = process.hrtime.bigint();
  const m = await tfconv.loadGraphModel(fileHandler(model));
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const inp = m.inputs[0];
  const W = Number(arg('--width', 0)), H = Number(arg('--height', 0));
  const shape = inp.shape.map((d, i) => (d > 0 ? d : i === 0 ? 1 : i === 1 ? H : i === 2 ? W : 3));
  const n = shape.reduce((a, b) => a * b, 1);
  const rgbPath = arg('--rgb', null);
  let pixels = null;
  if (rgbPath) {
    pixels = fs.readFileSync(rgbPath);
    if (pixels.length !== n) throw new Error(`${rgbPath}: ${pixels.length} bytes, model input ${shape} needs ${n}`);
  }
  const isInt = inp.dtype === 'int32' || inp.dtype === 'uint8';
  const data = isInt ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = pixels ? pixels[i] : (i * 37) % 256;
  const x = tf.tensor(data, shape, isInt ? 'int32' : 'float32');
  const run = async () => {
    const out = await m.executeAsync({ [inp.name]: x });
    const outs = Array.isArray(out) ? out : [out];
    for (const o of outs) o.dataSync();
    tf.dispose(outs);
  };
  t0 = process.hrtime.bigint();
  await run();
  const firstMs = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < warmup; i++) await run();
  const times = [];
  for (let i = 0; i < iterations; i++) {
    t0 = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2]
    : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  console.log(JSON.stringify({
    peer: 'tfjs-wasm', version: tf.version_core, threads, threads_used: wasm.getThreadsCount(),
    iterations, input: `${inp.name} ${inp.dtype} [${shape}]`,
    load_ms: +loadMs.toFixed(2), first_ms: +firstMs.toFixed(2), min_ms: +times[0].toFixed(3),
    median_ms: +median.toFixed(3), p90_ms: +times[Math.floor(0.9 * (times.length - 1))].toFixed(3),
  }));
  process.exit(0);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
