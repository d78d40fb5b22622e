import { createRoute, z } from "@hono/zod-openapi";
import { json, newRouter } from "../../http/openapi";
import { publicKeys } from "../chain/checkpoints";

const jwks = newRouter();

jwks.openapi(
  createRoute({
    method: "get",
    path: "/jwks.json",
    operationId: "getJwks",
    security: [],
    tags: ["Chain integrity"],
    summary: "Public Ed25519 keys that verify checkpoints and report attestations",
    responses: {
      200: json(
        z
          .object({ keys: z.array(z.object({ kty: z.string(), crv: z.string(), x: z.string(), kid: z.string(), alg: z.string(), use: z.string() })) })
          .openapi("Jwks"),
        "The JWKS",
      ),
    },
  }),
  async (c) => c.json({ keys: await publicKeys(c.env) }, 200),
);

export default jwks;
