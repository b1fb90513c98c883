import { test } from 'node:test';
import assert from 'node:assert/strict';
import { campaignFromUrl, referrerType } from '../../src/core/enrich.js';

test('referrer types', () => {
  const page = 'https://shop.example/p';
  assert.equal(referrerType(undefined, page), 'direct');
  assert.equal(referrerType('', page), 'direct');
  assert.equal(referrerType('not a url', page), 'direct');
  assert.equal(referrerType('https://www.shop.example/cart', page), 'internal');
  assert.equal(referrerType('https://www.google.co.uk/', page), 'search');
  assert.equal(referrerType('https://duckduckgo.com/?q=x', page), 'search');
  assert.equal(referrerType('https://t.co/abc', page), 'social');
  assert.equal(referrerType('https://m.facebook.com/', page), 'social');
  assert.equal(referrerType('https://outlook.live.com/mail/', page), 'email');
  assert.equal(referrerType('https://blog.example/post', page), 'referral');
  assert.equal(referrerType('https://blog.example/post', page, 'email'), 'email', 'utm_medium=email wins');
  assert.equal(referrerType(undefined, page, 'E-mail'), 'email');
});

test('campaign from utm_* parameters, in context.campaign field names', () => {
  assert.deepEqual(campaignFromUrl('https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_term=shoes&utm_content=ad1&x=1'), {
    name: 'spring', source: 'google', medium: 'cpc', term: 'shoes', content: 'ad1',
  });
  assert.equal(campaignFromUrl('https://shop.example/?x=1'), undefined);
  assert.equal(campaignFromUrl('::'), undefined);
  assert.equal(campaignFromUrl(undefined), undefined);
});
