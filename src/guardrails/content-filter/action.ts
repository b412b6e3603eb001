/** What the content filter does on a match (LiteLLM's ContentFilterAction; case-sensitive). */
export type ContentFilterAction = 'BLOCK' | 'MASK';
