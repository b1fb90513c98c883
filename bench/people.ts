/**
 * Synthetic people with planted near-duplicates, for the duplicate-profile test and bench:
 * deterministic (seeded), so a recall figure is reproducible. A duplicate is the same person
 * entered again with the slips people make: a typo, the name reversed, another email address
 * (or the same with a +tag or other case), the street abbreviated, the phone missing, a move.
 */
import { mulberry32 } from '../src/core/minhash.js';
import type { ProfileIdentity } from '../src/quality/duplicates.js';

const FIRST = ['Anna', 'Ben', 'Carla', 'David', 'Emma', 'Felix', 'Grace', 'Hugo', 'Iris', 'Jonas', 'Karin', 'Liam', 'Mila', 'Noah', 'Olga', 'Paul', 'Quinn', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'Walter', 'Xenia', 'Yusuf', 'Zoe', 'Amélie', 'Bruno', 'Chloé', 'Dario', 'Elif', 'Farid', 'Greta', 'Hanna', 'Ivan', 'Julia', 'Kenji', 'Lena', 'Marco', 'Nadia', 'Oscar', 'Priya', 'Rafael', 'Sofia', 'Timo', 'Ursula', 'Viktor', 'Wen', 'Yara', 'Zeno'];
const LAST = ['Andersen', 'Becker', 'Costa', 'Dubois', 'Eriksson', 'Fischer', 'García', 'Hansen', 'Ivanova', 'Jensen', 'Kowalski', 'Larsen', 'Müller', 'Novak', 'Olsen', 'Petrov', 'Quaresma', 'Rossi', 'Schmidt', 'Tanaka', 'Ueda', 'Vogel', 'Weber', 'Xu', 'Yilmaz', 'Zimmermann', 'Bauer', 'Conti', 'Dimitrov', 'Esposito', 'Fernández', 'Gallo', 'Horvat', 'Ito', 'Jovanović', 'Keller', 'Lombardi', 'Moreau', 'Nielsen', 'Ortiz', 'Pereira', 'Romano', 'Silva', 'Torres', 'Urban', 'Varga', 'Wagner', 'Young', 'Zhang', 'Moretti'];
/** Surnames from two or three parts (about 9,600), so that few people share a full name, as in a real customer base. */
const LAST_START = ['Berg', 'Lind', 'Hoff', 'Stein', 'Wald', 'Ros', 'Alt', 'Brun', 'Dahl', 'Eck', 'Fal', 'Gold', 'Hart', 'Kirch', 'Lang', 'Mor', 'Nord', 'Ost', 'Ried', 'Sand', 'Thal', 'Vil', 'Wein', 'Zell', 'Cas', 'Del', 'Mont', 'Ricc', 'Sol', 'Val'];
const LAST_MID = ['a', 'e', 'i', 'o', 'en', 'er', 'el', 'is', 'ar', 'on', 'ur', 'ol', 'am', 'id', 'ov'];
const LAST_END = ['mann', 'gren', 'berg', 'ström', 'feld', 'ini', 'etti', 'ez', 'ov', 'sen', 'ley', 'ford', 'wick', 'ton', 'ari', 'ane', 'ero', 'ski', 'dal', 'quist'];
const STREETS = ['Oak', 'Maple', 'Station', 'Church', 'Mill', 'Park', 'High', 'Victoria', 'Queen', 'King', 'Garden', 'Bridge', 'River', 'Castle', 'School', 'Market', 'Forest', 'Harbour', 'Meadow', 'Orchard'];
const KINDS = ['Street', 'Road', 'Avenue', 'Lane', 'Drive'];
const CITIES = ['London', 'Leeds', 'Bristol', 'Oxford', 'York', 'Bath', 'Derby', 'Exeter', 'Hull', 'Perth'];
const DOMAINS = ['mail.com', 'example.org', 'post.net', 'inbox.io'];

export interface PlantedPeople {
  profiles: ProfileIdentity[];
  /** "a|b" (sorted ids) for each planted duplicate pair. */
  planted: Set<string>;
}

export const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

export function plantedPeople(people: number, duplicates: number, seed = 7): PlantedPeople {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const profiles: ProfileIdentity[] = [];
  const planted = new Set<string>();
  const base: { first: string; last: string; email: string; phone: string; street: string; city: string; postal: string }[] = [];
  for (let i = 0; i < people; i++) {
    const first = pick(FIRST);
    const last = r() < 0.2 ? pick(LAST) : pick(LAST_START) + pick(LAST_MID) + pick(LAST_END);
    const n = Math.floor(r() * 1000);
    const local = pick([`${first}.${last}`, `${first[0]}${last}${n}`, `${first}${n}`, `${last}.${first}${n % 100}`]).toLowerCase();
    const person = {
      first,
      last,
      email: `${local}@${pick(DOMAINS)}`,
      phone: `+44 7${String(Math.floor(r() * 1e9)).padStart(9, '0')}`,
      street: `${1 + Math.floor(r() * 200)} ${pick(STREETS)} ${pick(KINDS)}`,
      city: pick(CITIES),
      postal: `${pick(['AB', 'CD', 'EF', 'GH', 'LS', 'OX'])}${1 + Math.floor(r() * 30)} ${Math.floor(r() * 10)}${pick(['AA', 'BD', 'XY', 'QR'])}`,
    };
    base.push(person);
    profiles.push({ profileId: `p${i}`, userIds: [`u${i}`], anonymousIds: [`a${i}`], fields: { name: `${first} ${last}`, emails: [person.email], phones: [person.phone], address: `${person.street} ${person.city}`, postalCode: person.postal } });
  }
  const typo = (s: string) => {
    const i = 1 + Math.floor(r() * (s.length - 2));
    return r() < 0.5 ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
  };
  for (let d = 0; d < duplicates; d++) {
    const i = Math.floor((d * people) / duplicates);
    const p = base[i]!;
    let name = `${p.first} ${p.last}`;
    let email = p.email;
    let street = p.street;
    let city = p.city;
    let postal = p.postal;
    let phone: string | undefined = p.phone;
    // Two or three slips per copy, of seven kinds.
    const slips = [0, 1, 2, 3, 4, 5, 6].sort(() => r() - 0.5).slice(0, 2 + Math.floor(r() * 2));
    for (const s of slips) {
      if (s === 0) name = typo(name);
      if (s === 1) name = `${p.last.toUpperCase()}, ${p.first}`;
      if (s === 2) email = r() < 0.5 ? email.replace('@', '+shop@').toUpperCase() : `${email.slice(0, email.indexOf('@'))}@${pick(DOMAINS)}`;
      if (s === 3) street = street.replace(/Street|Road|Avenue|Lane|Drive/, (w) => ({ Street: 'St', Road: 'Rd', Avenue: 'Ave', Lane: 'Ln', Drive: 'Dr' })[w]!);
      if (s === 4) phone = undefined;
      if (s === 5) email = `${p.first[0]}.${p.last}@work-${Math.floor(r() * 100)}.com`.toLowerCase(); // another address altogether
      if (s === 6) {
        // Moved house.
        street = `${1 + Math.floor(r() * 200)} ${pick(STREETS)} ${pick(KINDS)}`;
        city = pick(CITIES);
        postal = `${pick(['AB', 'CD', 'EF', 'GH', 'LS', 'OX'])}${1 + Math.floor(r() * 30)} ${Math.floor(r() * 10)}${pick(['AA', 'BD', 'XY', 'QR'])}`;
      }
    }
    const id = `d${d}`;
    profiles.push({ profileId: id, userIds: [`ud${d}`], anonymousIds: [`ad${d}`], fields: { name, emails: [email], phones: phone ? [phone] : [], address: `${street} ${city}`, postalCode: postal } });
    planted.add(pairKey(`p${i}`, id));
  }
  return { profiles, planted };
}

/** Recall of the planted pairs and the share of reported pairs that were not planted. */
export function scoreDuplicates(pairs: readonly { a: string; b: string }[], planted: ReadonlySet<string>): { found: number; recall: number; reported: number; falsePositives: number; falsePositiveRate: number } {
  const reported = new Set(pairs.map((p) => pairKey(p.a, p.b)));
  let found = 0;
  for (const k of planted) if (reported.has(k)) found++;
  const fp = [...reported].filter((k) => !planted.has(k)).length;
  return { found, recall: found / planted.size, reported: reported.size, falsePositives: fp, falsePositiveRate: reported.size ? fp / reported.size : 0 };
}
