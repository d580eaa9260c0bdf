// node bench/remote/bare-server.mjs CONFIG: POST /v1/sign { digest } on a bare node:http server, no
// framework, auth, limits or metrics, for bench/remote/ceiling.mjs only. Never a way to serve keys.
import { createServer } from 'node:http';
import { gm } from '../setup.mjs';

const signer = await gm.createSigner(process.argv[2]);
const publicKey = Buffer.from(signer.publicKey).toString('hex');

function answer(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const digest = Buffer.from(JSON.parse(Buffer.concat(chunks).toString()).digest, 'hex');
    signer.signDigest(digest).then(
      (signature) => answer(response, 200, { signature: Buffer.from(signature).toString('hex'), publicKey }),
      (error) => answer(response, 500, { error: { code: error.code ?? 'INTERNAL', message: error.message } }),
    );
  });
});
server.listen(0, '127.0.0.1', () => process.stderr.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.once('SIGTERM', () => server.close(() => signer.close()));
