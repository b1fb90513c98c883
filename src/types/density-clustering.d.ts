/** The slice of density-clustering (MIT, no types of its own) Mosaic uses. */
declare module 'density-clustering' {
  export class DBSCAN {
    /** Clusters as lists of point indexes; points in none are in `noise`. */
    run(dataset: number[][], epsilon: number, minPts: number): number[][];
    noise: number[];
  }
}
