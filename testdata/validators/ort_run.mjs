// Runs an ONNX model with onnxruntime-node (its bundled CPU libonnxruntime) and prints the outputs as JSON.
//
//   node ort_run.mjs request.json
//
// request.json: {"model": "/path/model.onnx", "runs": [{"inputs": {NAME: {"type": "int64"|"float32",
// "dims": [...], "data": [...]} | {"prev": OUTPUT_NAME}}, "outputs": [NAMES to print; all when absent],
// "model": another model for this run (optional)}]}
// An input {"prev": "present.0.key"} feeds the named output of the previous run (cached generation), and
// {"greedy": "logits"} the greedy next tokens [B, 1] (argmax of that output's last position, [B, T, V]).
// Prints {"inputs": [session input names], "outputs": [session output names], "runs": [{NAME: {"type",
// "dims", "data"}}]}.
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';

const req = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const sessions = new Map();
async function open(path) {
  if (!sessions.has(path)) {
    sessions.set(path, await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    }));
  }
  return sessions.get(path);
}
const session = await open(req.model);

function toTensor(v) {
  const size = v.dims.reduce((a, b) => a * b, 1);
  if (v.data.length !== size) throw new Error(`input has ${v.data.length} values for dims ${v.dims}`);
  switch (v.type) {
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from(v.data.map(BigInt)), v.dims);
    case 'float32': return new ort.Tensor('float32', Float32Array.from(v.data), v.dims);
    default: throw new Error(`unsupported input type ${v.type}`);
  }
}

function fromTensor(t) {
  const data = t.type === 'int64' ? Array.from(t.data, Number) : Array.from(t.data);
  return { type: t.type, dims: t.dims, data };
}

const results = [];
let prev = null;
for (const [i, run] of req.runs.entries()) {
  const feeds = {};
  for (const [name, v] of Object.entries(run.inputs)) {
    if (v.greedy !== undefined) {
      const t = prev && prev[v.greedy];
      if (!t) throw new Error(`run ${i}: input ${name}: previous run has no output ${v.greedy}`);
      const [B, T, V] = t.dims;
      const ids = new BigInt64Array(B);
      for (let b = 0; b < B; b++) {
        const off = (b * T + T - 1) * V;
        let best = 0;
        for (let j = 1; j < V; j++) if (t.data[off + j] > t.data[off + best]) best = j;
        ids[b] = BigInt(best);
      }
      feeds[name] = new ort.Tensor('int64', ids, [B, 1]);
    } else if (v.prev !== undefined) {
      if (!prev || !prev[v.prev]) throw new Error(`run ${i}: input ${name}: previous run has no output ${v.prev}`);
      feeds[name] = prev[v.prev];
    } else {
      feeds[name] = toTensor(v);
    }
  }
  const out = await (run.model ? await open(run.model) : session).run(feeds);
  const keep = run.outputs ?? Object.keys(out);
  const printed = {};
  for (const name of keep) {
    if (!out[name]) throw new Error(`run ${i}: no output ${name}`);
    printed[name] = fromTensor(out[name]);
  }
  results.push(printed);
  prev = out;
}
process.stdout.write(JSON.stringify({ inputs: session.inputNames, outputs: session.outputNames, runs: results }));
