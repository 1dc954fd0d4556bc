/** The Locket mark (the drawing of icons/locket.svg, simplified to flat colours). */
export function LocketMark({ size }: { size: number }) {
  return (
    <svg className="locket-mark" width={size} height={size} viewBox="0 0 1024 1024" aria-hidden="true">
      <rect x="32" y="32" width="960" height="960" rx="220" fill="#2a43c2" />
      <circle cx="512" cy="250" r="70" fill="none" stroke="#f6c866" strokeWidth="44" />
      <circle cx="512" cy="580" r="270" fill="#f6c866" />
      <circle cx="512" cy="580" r="210" fill="none" stroke="#1b2a7a" strokeOpacity="0.18" strokeWidth="16" />
      <circle cx="512" cy="540" r="62" fill="#1b2a7a" />
      <path d="M478 560 L546 560 L570 700 L454 700 Z" fill="#1b2a7a" />
    </svg>
  );
}
