// esbuild bundles the stylesheet the app imports into app.css.
declare module '*.css';
