/** The slice of vader-sentiment (Apache-2.0, VADER by its authors; no types of its own) Mosaic uses. */
declare module 'vader-sentiment' {
  const vader: {
    SentimentIntensityAnalyzer: { polarity_scores(text: string): { neg: number; neu: number; pos: number; compound: number } };
  };
  export default vader;
}
