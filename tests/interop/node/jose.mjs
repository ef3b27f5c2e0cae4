// Oracle: Node `jose`. stdin: {"op": "verify", "token", "jwk"} -> {"header", "payload"}
//                           {"op": "sign", "jwk" (private), "header", "payload"} -> {"token"}
import * as jose from "jose";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
if (input.op === "verify") {
  const key = await jose.importJWK(input.jwk, input.jwk.alg);
  const { payload, protectedHeader } = await jose.compactVerify(input.token, key);
  process.stdout.write(JSON.stringify({ header: protectedHeader, payload: JSON.parse(new TextDecoder().decode(payload)) }));
} else if (input.op === "sign") {
  const key = await jose.importJWK(input.jwk, input.header.alg);
  const token = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(input.payload)))
    .setProtectedHeader(input.header)
    .sign(key);
  process.stdout.write(JSON.stringify({ token }));
} else {
  throw new Error(`unknown op ${input.op}`);
}
