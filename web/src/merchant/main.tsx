import { render } from 'preact';
import '../lib/style.css';
import { App } from './App.tsx';

render(<App />, document.getElementById('app')!);
