// Oracle: RDFC-1.0 (URDNA2015) with jsonld.js + rdf-canonize, as the Gaia-X services run it.
// stdin: {"contexts": {url: document}, "documents": [jsonld...]}; stdout: ["<canonical n-quads>", ...]
// The document loader only serves the given contexts: no network.
import jsonld from "jsonld";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const documentLoader = async (url) => {
  if (!(url in input.contexts)) throw new Error(`context not pinned: ${url}`);
  return { contextUrl: null, documentUrl: url, document: input.contexts[url] };
};
const out = [];
for (const doc of input.documents) {
  out.push(await jsonld.canonize(doc, { algorithm: "URDNA2015", format: "application/n-quads", documentLoader }));
}
process.stdout.write(JSON.stringify(out));
