// Key helper for tach.conf, after Tach's nova example: names each call
// nova.api.<first two path segments>.<action>.<HTTP method>, e.g. nova.api.v2.servers.reboot.POST.
// Like Tach's `return args, kwargs, key`, it returns [args, key]; the args could be rewritten here.
export function process_stack(req, res, route) {
  const path = new URL(req.url, 'http://localhost').pathname.split('/').slice(1, 3).join('.');
  const action = route && route.action ? '.' + route.action : '';
  return [[req, res, route], `nova.api.${path}${action}.${req.method}`];
}
