/** Words too common to say what a request or a passage is about. */
const STOPWORDS = new Set(
  (
    'a an the and or but if then than that this these those of for to in on at by with from into about as ' +
    'is are was were be been being it its our we us you your i me my they them their he she his her what ' +
    'which who whom when where why how do does did can could would should will shall may might must ' +
    'please also just some any all each both few more most other such only own same so too very not no ' +
    'nor pick give get make use used using given find one two three out up down over under again further ' +
    'once here there him has have had'
  ).split(' '),
);

/**
 * Lower-cased content words cut to five characters: a crude stemmer (analyse / analysis / analyze,
 * index / indexes) that is enough for a deterministic test double to match requests to skills and sources.
 */
export function stems(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length >= 3 && !STOPWORDS.has(word))
    .map((word) => (word.length > 5 ? word.slice(0, 5) : word));
}
