import { createHash, randomBytes } from 'node:crypto';
import type { SubjectKey } from '../ports/subject-keys.js';

/** How a subject is stored: hashed, so the key table names no one. */
export const subjectHash = (subject: string): string => createHash('sha256').update(`mosaic-subject\n${subject}`).digest('base64url');

/** A fresh key with a random id. */
export const newSubjectKey = (): SubjectKey => ({ id: randomBytes(12).toString('base64url'), key: randomBytes(32) });
