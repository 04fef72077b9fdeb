// The demo migration, and what to print once everything runs.
import { basename } from "node:path";
import { signatureHeaders } from "@monarch/ingest";
import { findServerBinaries } from "@monarch/sandbox";
import { given, StartError } from "./settings.mjs";

/** A request like the platform's, to a target of its own so that the platform's command is no duplicate. */
const DEMO_PAYLOAD = {
  source_repo: "nss-group-projects/cider-falls",
  all_target_repositories: ["monarch-demo/team-1", "monarch-demo/team-2"],
  notification_channel: "C06GHMZB3M3",
};
const PLATFORM_PAYLOAD =
  '{ "source_repo": "nss-group-projects/cider-falls", "all_target_repositories": ["stevebrownlee/rare-test"], "notification_channel": "C06GHMZB3M3"}';

/** Submits the demo request; answers with what ingest said. */
export async function submitDemo(origin, { token }) {
  const body = JSON.stringify(DEMO_PAYLOAD);
  const credentials =
    token === undefined
      ? signatureHeaders(given.INGEST_HMAC_SECRET, body)
      : { authorization: `Bearer ${token}` };
  const answer = await fetch(`${origin}/v1/migrations`, {
    method: "POST",
    headers: { "content-type": "application/json", ...credentials },
    body,
  });
  const reply = await answer.json();
  if (answer.status !== 202 && answer.status !== 200) {
    throw new StartError(`the demo migration was refused (${answer.status}): ${reply.detail}`);
  }
  return reply;
}

/** What to print once everything runs: where each part is, and how to send a request. */
export function banner(store, ingest, demo) {
  const origin = `http://127.0.0.1:${ingest.env.INGEST_PORT}`;
  // A token of the operator's own is not printed; the demo one is made to be used.
  const bearer = ingest.demoToken ?? (ingest.token === undefined ? undefined : "<INGEST_API_TOKEN>");
  const cli = basename(findServerBinaries().cli);
  const server = store.port === undefined ? '-u "$VALKEY_URL"' : `-p ${store.port}`;
  return [
    "",
    "Monarch is running; Ctrl-C stops it.",
    `  Valkey          ${store.description}`,
    `  ingest          POST ${origin}/v1/migrations, OpenAPI at ${origin}/openapi.json, metrics at http://127.0.0.1:${ingest.env.METRICS_PORT}/metrics`,
    ...(ingest.demoToken === undefined ? [] : [`  demo token      ${ingest.demoToken}`]),
    `  demo migration  ${demo.duplicate ? "accepted before, within the duplicate window," : "accepted"} as ${demo.requestId}`,
    bearer === undefined
      ? `                  its status (signed, or with a token): GET ${origin}${demo.statusUrl}`
      : `                  its status: curl -H "authorization: Bearer ${bearer}" ${origin}${demo.statusUrl}`,
    "  a request as the platform sends it today:",
    `                  ${cli} ${server} PUBLISH channel_migrate_issue_tickets '${PLATFORM_PAYLOAD}'`,
    "",
  ].join("\n");
}
