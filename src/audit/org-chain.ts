import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** The only writer of one organization's chain. */
export class OrgChain extends DurableObject<Env> {}
