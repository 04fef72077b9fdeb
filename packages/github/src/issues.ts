import type { Octokit } from "@octokit/rest";
import { parseMarker, type RepositoryRef, sourceKey, withMarker } from "./marker.js";

/** A label as the source defines it; the target gets the same colour and description. */
export interface LabelSpec {
  readonly name: string;
  /** Six hex digits, no "#". */
  readonly color: string;
  readonly description: string | null;
}

export interface MilestoneSpec {
  readonly title: string;
  readonly description: string | null;
  readonly state: "open" | "closed";
  /** ISO 8601, or null when undated. */
  readonly dueOn: string | null;
}

/** A source issue with what Monarch copies. */
export interface SourceIssue {
  readonly number: number;
  readonly title: string;
  readonly body: string;
  readonly state: "open" | "closed";
  readonly labels: readonly LabelSpec[];
  readonly milestone: MilestoneSpec | null;
}

const PER_PAGE = 100;

/**
 * Every issue of `source` in ascending number (creation) order, all pages, without pull requests
 * (GitHub's issues list returns them too). `state` "open" by default; "all" includes closed ones.
 */
export async function listSourceIssues(
  octokit: Octokit,
  source: RepositoryRef,
  state: "open" | "all" = "open",
): Promise<SourceIssue[]> {
  const issues: SourceIssue[] = [];
  const pages = octokit.paginate.iterator(octokit.rest.issues.listForRepo, {
    ...source,
    state,
    sort: "created",
    direction: "asc",
    per_page: PER_PAGE,
  });
  for await (const page of pages) {
    for (const issue of page.data) {
      if (issue.pull_request) continue;
      issues.push({
        number: issue.number,
        title: issue.title,
        body: issue.body ?? "",
        state: issue.state === "closed" ? "closed" : "open",
        labels: issue.labels.flatMap((label) =>
          typeof label === "string" || !label.name
            ? []
            : [{ name: label.name, color: label.color ?? "ededed", description: label.description ?? null }],
        ),
        milestone: issue.milestone
          ? {
              title: issue.milestone.title,
              description: issue.milestone.description,
              state: issue.milestone.state,
              dueOn: issue.milestone.due_on,
            }
          : null,
      });
    }
  }
  // Creation order is number order on GitHub; sorting keeps invariant 3 independent of that.
  return issues.sort((a, b) => a.number - b.number);
}

/**
 * Makes every label of `labels` exist in `target`: missing ones are created with the source's colour
 * and description; existing ones (names compare without regard to case) are reused as they are.
 * Returns the names to put on issues, as the target spells them.
 */
export async function ensureLabels(
  octokit: Octokit,
  target: RepositoryRef,
  labels: readonly LabelSpec[],
): Promise<string[]> {
  if (labels.length === 0) return [];
  const existing = await octokit.paginate(octokit.rest.issues.listLabelsForRepo, {
    ...target,
    per_page: PER_PAGE,
  });
  const byName = new Map(existing.map((label) => [label.name.toLowerCase(), label.name]));
  const names: string[] = [];
  for (const label of labels) {
    let name = byName.get(label.name.toLowerCase());
    if (name === undefined) {
      const created = await octokit.rest.issues.createLabel({
        ...target,
        name: label.name,
        color: label.color,
        ...(label.description === null ? {} : { description: label.description }),
      });
      name = created.data.name;
      byName.set(name.toLowerCase(), name);
    }
    names.push(name);
  }
  return names;
}

/** The number of `target`'s milestone titled like `milestone` (open or closed), created when missing. */
export async function ensureMilestone(
  octokit: Octokit,
  target: RepositoryRef,
  milestone: MilestoneSpec,
): Promise<number> {
  const existing = await octokit.paginate(octokit.rest.issues.listMilestones, {
    ...target,
    state: "all",
    per_page: PER_PAGE,
  });
  const found = existing.find((candidate) => candidate.title === milestone.title);
  if (found) return found.number;
  const created = await octokit.rest.issues.createMilestone({
    ...target,
    title: milestone.title,
    state: milestone.state,
    ...(milestone.description === null ? {} : { description: milestone.description }),
    ...(milestone.dueOn === null ? {} : { due_on: milestone.dueOn }),
  });
  return created.data.number;
}

/** Turns a source issue into the target issue's body (before the marker). Default: the source body. */
export type BodyTemplate = (issue: SourceIssue, source: RepositoryRef) => string;

export interface CreateIssueOptions {
  readonly bodyTemplate?: BodyTemplate;
  /** Label names in the target (from `ensureLabels`). */
  readonly labels?: readonly string[];
  /** Milestone number in the target (from `ensureMilestone`). */
  readonly milestone?: number;
}

/**
 * Creates `issue` in `target`, its body carrying the hidden marker of its source. Sent once: after a
 * failure the issue may exist all the same (an answer lost after the create), so the caller looks it
 * up with `MarkedIssueFinder` before creating it again. Returns the new issue's number.
 */
export async function createMarkedIssue(
  octokit: Octokit,
  target: RepositoryRef,
  source: RepositoryRef,
  issue: SourceIssue,
  options: CreateIssueOptions = {},
): Promise<number> {
  const body = options.bodyTemplate ? options.bodyTemplate(issue, source) : issue.body;
  const created = await octokit.rest.issues.create({
    ...target,
    title: issue.title,
    body: withMarker(body, source, issue.number),
    ...(options.labels && options.labels.length > 0 ? { labels: [...options.labels] } : {}),
    ...(options.milestone === undefined ? {} : { milestone: options.milestone }),
  });
  return created.data.number;
}

interface CachedPage {
  readonly etag: string;
  readonly issues: ReadonlyArray<{ readonly number: number; readonly body: string | null }>;
}

/**
 * Finds the issues Monarch already created in a target, by listing (search is eventually consistent
 * and separately limited): every issue, open or closed, pages remembered with their ETags so a
 * re-check is answered 304 (free against the primary limit) while the target is unchanged.
 */
export class MarkedIssueFinder {
  private readonly pages = new Map<string, CachedPage>();

  constructor(private readonly octokit: Octokit) {}

  /** Source key (`sourceKey`) → target issue number, for every marked issue in `target`. */
  async find(target: RepositoryRef): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (let page = 1; ; page++) {
      const issues = await this.page(target, page);
      for (const issue of issues) {
        const key = parseMarker(issue.body);
        // The first (oldest) one wins should a duplicate ever exist.
        if (key !== undefined && !found.has(key)) found.set(key, issue.number);
      }
      if (issues.length < PER_PAGE) return found;
    }
  }

  /** Whether `target` already holds source issue `issueNumber` of `source`: its number, or undefined. */
  async findOne(
    target: RepositoryRef,
    source: RepositoryRef,
    issueNumber: number,
  ): Promise<number | undefined> {
    return (await this.find(target)).get(sourceKey(source, issueNumber));
  }

  private async page(target: RepositoryRef, page: number): Promise<CachedPage["issues"]> {
    const cacheKey = `${target.owner}/${target.repo}?page=${page}`.toLowerCase();
    const cached = this.pages.get(cacheKey);
    const response = await this.octokit.rest.issues.listForRepo({
      ...target,
      state: "all",
      sort: "created",
      direction: "asc",
      per_page: PER_PAGE,
      page,
      ...(cached ? { headers: { "if-none-match": cached.etag } } : {}),
    });
    if ((response.status as number) === 304 && cached) return cached.issues;
    const issues = response.data.map((issue) => ({ number: issue.number, body: issue.body ?? null }));
    const etag = response.headers.etag;
    if (etag) this.pages.set(cacheKey, { etag, issues });
    return issues;
  }
}
