/** The oldest Node.js release line that runs TypeScript sources without flags (type stripping). */
export declare const requiredNode: string;
/** Why this Node cannot run the service from its sources, or null when it can. */
export declare function nodeVersionProblem(version: string, typescript: unknown): string | null;
/** Exits with one line on stderr when this Node cannot run the sources. */
export declare function requireSupportedNode(): void;
