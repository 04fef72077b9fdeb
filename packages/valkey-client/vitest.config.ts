import { packageTestConfig } from "../../vitest.shared.js";

export default packageTestConfig({ globalSetup: ["test/support/global-setup.ts"] });
