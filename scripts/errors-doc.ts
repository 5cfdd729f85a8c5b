/** Writes docs/errors.md from the error catalog: `npm run docs:errors` after changing the catalog. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorCatalog } from '../src/core/errors.js';

const rows = Object.entries(errorCatalog).map(
  ([code, e]) => `| \`${code}\` | ${e.status} | ${e.doc.replaceAll('|', '\\|')} |`,
);

const doc = `# Errors

Every error the Sluice API returns has this form, with the HTTP status of its code:

\`\`\`json
{ "error": { "code": "AliasNotFound", "message": "function B has no alias prepub", "requestId": "…", "details": [] } }
\`\`\`

\`details\` is present where it helps: for \`InvalidArgument\`, a list of \`{path, message}\`, one per problem,
with paths such as \`canary.rules[2].op\`; for \`VersionInUse\`, the aliases that use the version; for
\`UnhandledInvocationError\`, the error's \`errorType\` and \`stackTrace\`. Invocations also name the code in the
\`x-fc-error-type\` header.

| code | status | meaning |
| --- | --- | --- |
${rows.join('\n')}
`;

writeFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), doc);
