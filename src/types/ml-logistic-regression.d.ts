/** The slice of ml-logistic-regression (MIT, no types of its own) Mosaic uses. */
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';
  interface TwoClasses {
    weights: Matrix;
    /** P(class ≠ this classifier's class) per row. */
    testScores(features: Matrix): number[];
  }
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    /** One-vs-all: classifiers[i] tells class i from the others. */
    classifiers: TwoClasses[];
    train(features: Matrix, labels: Matrix): void;
  }
}
