// Reads a GGUF file with @huggingface/gguf (an independent reader) and prints
// what it sees as one JSON object on stdout:
//   {"alignment": A, "data_offset": D,
//    "keys": [{"key": K, "type": T, "subtype": S, "value": V}, ...],
//    "tensors": [{"name": N, "shape": [...], "dtype": T, "offset": O,
//                 "first": [up to 4 f32 values read at D + O]}, ...]}
// Integers are printed as decimal strings (u64/i64 come back as BigInt),
// floats as numbers, or "nan"/"inf"/"-inf". Used by tests/test_gguf.c.
import { readFileSync } from "node:fs";
import { gguf } from "@huggingface/gguf";

const path = process.argv[2];
if (!path) {
  console.error("usage: node gguf_dump.mjs FILE.gguf");
  process.exit(1);
}

function plain(v) {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    return v;
  }
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

const { typedMetadata, tensorInfos, tensorDataOffset } = await gguf(path, {
  allowLocalFile: true,
  typedMetadata: true,
});
const skip = new Set(["version", "tensor_count", "kv_count"]);
const keys = [];
for (const [key, e] of Object.entries(typedMetadata)) {
  if (skip.has(key)) continue;
  keys.push({ key, type: e.type, subtype: e.subType ?? null, value: plain(e.value) });
}
const bytes = readFileSync(path);
const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const tensors = tensorInfos.map((t) => {
  const at = Number(tensorDataOffset + t.offset);
  const first = [];
  if (t.dtype === 0) {
    const n = Math.min(4, Number(t.shape.reduce((a, b) => a * b, 1n)));
    for (let i = 0; i < n; i++) first.push(plain(view.getFloat32(at + 4 * i, true)));
  }
  return {
    name: t.name,
    shape: t.shape.map((d) => d.toString()),
    dtype: t.dtype,
    offset: t.offset.toString(),
    first,
  };
});
const align = typedMetadata["general.alignment"]?.value ?? 32;
console.log(
  JSON.stringify({ alignment: Number(align), data_offset: tensorDataOffset.toString(), keys, tensors })
);
