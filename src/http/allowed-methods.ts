/** A route as Hono lists it (`app.routes`): its method and path pattern. */
type Route = { method: string; path: string };

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/** A Hono path pattern (`/a/:id/b`, `/files/*`) as a RegExp over whole paths. */
function patternOf(path: string): RegExp {
  const escaped = path
    .split("/")
    .map((segment) => (segment === "*" ? ".*" : segment.startsWith(":") ? "[^/]+" : segment.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${escaped}/?$`);
}

/**
 * For a request no route answered: the methods the app does serve at that path, so that a wrong
 * method is a 405 with `Allow` rather than a 404 that says the path does not exist. Middleware
 * (method ALL) answers nothing by itself and is left out; GET brings HEAD, as Hono serves it.
 */
export function allowedMethods(routes: readonly Route[]): (path: string) => string[] {
  const served = routes.filter((r) => METHODS.includes(r.method)).map((r) => ({ method: r.method, pattern: patternOf(r.path) }));
  return (path) => {
    const methods = new Set(served.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return METHODS.filter((m) => methods.has(m));
  };
}
