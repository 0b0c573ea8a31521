// A tiny request dispatcher standing in for nova's wsgi.Resource: the method the example instruments.
export class Resource {
  constructor(controller) {
    this.controller = controller;
  }

  /** Runs the controller action for a request; `route` holds the routing result ({ action, id }). */
  async processStack(req, res, route) {
    const handler = this.controller[route.action];
    if (!handler) {
      res.statusCode = 404;
      return { error: 'no such action' };
    }
    return handler.call(this.controller, route, req);
  }
}
