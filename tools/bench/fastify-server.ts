/**
 * The HTTP ceiling: bare Fastify (the version the gateway runs under NestJS), one POST
 * route that parses the JSON body and echoes it with 202. No NestJS, no auth, no
 * validation, no Kafka. Run as a child process by run.ts:
 *
 *   node -r ./tools/register.js tools/bench/fastify-server.ts <port> <marker>
 *
 * (the marker only identifies the process for orphan cleanup).
 */
import { fastify } from 'fastify';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: fastify-server.ts <port> <marker>');
  process.exit(2);
}

const app = fastify({ logger: false });
app.post('/v1/events/trigger/:code_name', async (request, reply) => reply.code(202).send(request.body));
app.get('/health', async () => ({ ok: true }));

const close = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', close);
process.on('SIGINT', close);

app.listen({ port, host: '127.0.0.1' }).then(
  () => console.log(`fastify ceiling listening on ${port}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
