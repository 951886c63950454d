/**
 * /api/policies and /api/operator-policies: Warren has no policies yet (they are being built),
 * so every list is empty and a named policy is not found. Answering keeps tools that list
 * policies (rabbitmqadmin, the UI, exporters) working meanwhile.
 */
import type { ApiRouter } from "../api.js";
import { requireVhostAccess } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { httpError } from "../http-error.js";
import { listResponse } from "../listing.js";

export function registerPolicyRoutes(api: ApiRouter, ctx: ManagementContext): void {
  for (const kind of ["policies", "operator-policies"]) {
    api.get(`/api/${kind}`, (call) => listResponse([], call.query));
    api.get(`/api/${kind}/:vhost`, (call) => {
      requireVhostAccess(ctx.broker, call.principal, call.params.vhost!);
      return listResponse([], call.query);
    });
    api.get(`/api/${kind}/:vhost/:name`, (call) => {
      requireVhostAccess(ctx.broker, call.principal, call.params.vhost!);
      throw httpError.notFound();
    });
  }
}
