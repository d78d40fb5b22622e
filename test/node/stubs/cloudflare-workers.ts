// Node has no `cloudflare:workers`. The OpenAPI lint test imports the app to build its document,
// which pulls in the Durable Object classes' modules; only their base class is needed to load them,
// and nothing here ever runs one.
export class DurableObject {}
