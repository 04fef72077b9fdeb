export { MigrationAccepted, ProblemDetails } from "./http/answers.js";
export { openApiDocument } from "./http/openapi.js";
export { SIGNATURE_HEADER, signatureHeaders, signatureProblem, TIMESTAMP_HEADER } from "./signature.js";
