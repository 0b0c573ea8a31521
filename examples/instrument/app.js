// Example HTTP API instrumented by tach.conf: run with
//   sonde instrument tach.conf -- node app.js
// or node --import sonde/instrument app.js with SONDE_INSTRUMENT=tach.conf
import http from 'node:http';
import { Resource } from './lib/wsgi.js';

const servers = new Map([['1', { id: '1', name: 'web-1', status: 'ACTIVE' }]]);

const controller = {
  index: () => [...servers.values()],
  show: (route) => servers.get(route.id) ?? { error: 'not found' },
  reboot: async (route) => {
    await new Promise((r) => setTimeout(r, 20));
    return { id: route.id, status: 'REBOOT' };
  },
};
const resource = new Resource(controller);

/** Routes /v2/servers, /v2/servers/:id and POST /v2/servers/:id/action to controller actions. */
function route(req) {
  const [, version, collection, id, verb] = new URL(req.url, 'http://localhost').pathname.split('/');
  if (version !== 'v2' || collection !== 'servers') return undefined;
  if (!id) return { action: 'index' };
  if (verb === 'action' && req.method === 'POST') return { action: 'reboot', id };
  return { action: 'show', id };
}

const server = http.createServer(async (req, res) => {
  const r = route(req);
  try {
    const body = r ? await resource.processStack(req, res, r) : { error: 'not found' };
    if (!r) res.statusCode = 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  } catch (e) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: e.message }));
  }
});
const port = Number(process.env.PORT ?? 8774);
server.listen(port, '127.0.0.1', () => console.log(`example API on http://127.0.0.1:${server.address().port}`));
