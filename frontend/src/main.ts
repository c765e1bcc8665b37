import { createPinia } from 'pinia'
import { createApp } from 'vue'

import App from './App.vue'
import { createAppRouter } from './router'
import './styles/main.css'
import { impressionQueue, tracker } from './tracking'

const app = createApp(App)
app.use(createPinia())
app.use(createAppRouter())
tracker.listen(window)
impressionQueue.listen(window)
app.mount('#app')
