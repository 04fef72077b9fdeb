/**
 * The `error` codes the simulator answers with. Each is one that Slack documents for the method (or,
 * for the request-level ones, for every method).
 */
export type SlackErrorCode =
  // any method
  | "not_authed"
  | "invalid_auth"
  | "invalid_arguments"
  | "unknown_method"
  | "missing_post_type"
  | "invalid_post_type"
  | "invalid_json"
  | "json_not_object"
  // a channel
  | "channel_not_found"
  | "not_in_channel"
  | "is_archived"
  // message content
  | "no_text"
  | "invalid_blocks"
  | "invalid_blocks_format"
  // chat.update
  | "message_not_found"
  | "cant_update_message"
  | "is_inactive";

/** A call Slack would refuse with HTTP 200 and `{ ok: false, error: code }`. */
export class SlackApiError extends Error {
  override readonly name = "SlackApiError";
  constructor(
    readonly code: SlackErrorCode,
    /** For `response_metadata.messages`, as Slack explains `invalid_arguments`. */
    readonly detail?: string,
  ) {
    super(detail === undefined ? code : `${code}: ${detail}`);
  }

  /** The body Slack answers with. */
  toBody(): Record<string, unknown> {
    return {
      ok: false,
      error: this.code,
      ...(this.detail === undefined ? {} : { response_metadata: { messages: [`[ERROR] ${this.detail}`] } }),
    };
  }
}
