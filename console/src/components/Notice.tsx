/** A failure the person should read now (announced by screen readers); nothing when empty. */
export function ErrorText({ text }: { text: string }) {
  return text ? (
    <p class="error" role="alert">
      {text}
    </p>
  ) : null;
}

/** The outcome of something the person just did; nothing when empty. */
export function OkText({ text }: { text: string }) {
  return text ? (
    <p role="status" class="ok">
      {text}
    </p>
  ) : null;
}
