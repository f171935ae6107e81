/**
 * Requests whose route needs no model at all: greetings, thanks and other small talk, and bare
 * arithmetic. Each pattern must match the whole message, so "thanks, now book the flight" is not small
 * talk. Returns the reason when one applies.
 */
const SMALL_TALK =
  /^(?:hi|hello|hey|hiya|yo|howdy|hola|bonjour|salut|hallo|servus|moin|ciao|ol[aá]|hej|hoi|привет|你好|こんにちは|good (?:morning|afternoon|evening|night)|(?:many )?thanks?(?: you)?(?: (?:so|very) much| a lot| a bunch| again)?|thx|ty|cheers(?: mate)?|merci(?: beaucoup)?|danke(?: dir| schön| sehr)?|gracias|obrigad[oa]|grazie|dank je(?: wel)?|спасибо|谢谢|ありがとう(?:ございます)?|ok(?:ay)?|cool|nice|great|awesome|lol|haha|bye|goodbye|see you|how are you(?: today| doing)?|how's it going|what's up|sup)(?:[\s,]+(?:there|again|all|everyone|friend|mate|buddy|bot|assistant))?[\s!.?,:;)(]*$/iu;

/** Numbers, operators, parentheses and an optional "= ?" or "what is": nothing for agents to do. */
const ARITHMETIC = /^(?:what(?:'s| is)\s+)?[\d\s.,+\-*/×÷^%()]+(?:=\s*\??)?\s*\??$/iu;

export function obviousPassthrough(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return 'empty request: nothing to orchestrate';
  if (trimmed.length <= 60 && SMALL_TALK.test(trimmed)) return 'small talk: one reply answers it';
  if (trimmed.length <= 200 && /\d/.test(trimmed) && /[+\-*/×÷^%]/.test(trimmed) && ARITHMETIC.test(trimmed)) return 'arithmetic: one reply answers it';
  return undefined;
}
