/** A repository as GitHub's API addresses it. */
export interface RepositoryRef {
  readonly owner: string;
  readonly repo: string;
}

/** "owner/name" or a GitHub URL (`https://github.com/owner/name`) as a `RepositoryRef`. */
export function repositoryRef(text: string): RepositoryRef {
  const path = text
    .trim()
    .replace(/^https?:\/\/[^/]+\//, "")
    .replace(/\/$/, "")
    .replace(/\.git$/, "");
  const match = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(path);
  if (!match?.[1] || !match[2]) throw new TypeError(`not a repository: ${JSON.stringify(text)}`);
  return { owner: match[1], repo: match[2] };
}

/** "owner/repo#12", lower-cased: GitHub compares owner and repository names without regard to case. */
export function sourceKey(source: RepositoryRef, issueNumber: number): string {
  return `${source.owner}/${source.repo}#${issueNumber}`.toLowerCase();
}

/** The hidden comment that names an issue's source: `<!-- monarch:source=owner/repo#12 -->`. */
export function marker(source: RepositoryRef, issueNumber: number): string {
  return `<!-- monarch:source=${sourceKey(source, issueNumber)} -->`;
}

/** `body` with the marker appended on its own line. */
export function withMarker(body: string, source: RepositoryRef, issueNumber: number): string {
  const trimmed = body.trimEnd();
  return trimmed === "" ? marker(source, issueNumber) : `${trimmed}\n\n${marker(source, issueNumber)}`;
}

// Only Monarch's exact format, and only at the end: a quoted marker inside a body is not ours.
const MARKER_AT_END = /<!-- monarch:source=([a-z0-9-]+\/[a-z0-9._-]+)#([1-9][0-9]*) -->\s*$/;

/** The source key a body's marker names, or undefined when it carries none. */
export function parseMarker(body: string | null | undefined): string | undefined {
  const match = body ? MARKER_AT_END.exec(body) : null;
  return match ? `${match[1]}#${match[2]}` : undefined;
}
